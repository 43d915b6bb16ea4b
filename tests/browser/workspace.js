/*
 * workspace.js: the nurses' workspace in Debian's headless Chromium, driven
 * by puppeteer-core. Run by tests/integ/test_browser.c, which starts
 * Mosquitto, `dhohub run` and `dhohub web` with Kari and Anne (hospital DHO
 * team) and Ola (home nursing), and passes:
 *   DHO_URL        the workspace
 *   DHO_PASSWORD   every user's password
 *   DHO_EXPECTED   `dhohub alerts --json` taken before the browser starts
 *   DHO_SHOTS      where the screenshots go
 *   DHO_TMP        a directory for the browser profiles
 *   CHROMIUM_BIN   the browser (/usr/bin/chromium)
 * Each check prints "ok - ..." or "not ok - ..."; the closing line counts
 * them, and any failure exits 1.
 */
"use strict";

const fs = require("fs");
const { URL_, WAIT, check, launch, session, login, shot, clean, run } = require("./lib");

const TEAM = "hospital-dho/mosjoen";

/* The triage order of docs/api.md: red before yellow, open before acked, then
 * the oldest opened_at first. */
function triageOrder(a, b) {
  const sev = (x) => (x.severity === "red" ? 0 : 1);
  const st = (x) => (x.state === "open" ? 0 : 1);
  return sev(a) - sev(b) || st(a) - st(b) || Date.parse(a.opened_at) - Date.parse(b.opened_at)
    || a.id.localeCompare(b.id, "en", { numeric: true });
}

const listed = (page) => page.$$eval("#alerts [data-alert]", (els) => els.map((e) => ({
  id: e.dataset.alert, severity: e.dataset.severity, state: e.dataset.state, text: e.innerText,
  link: (e.querySelector("a[href]") || {}).textContent || null,
  ack: !!e.querySelector('button[data-action="ack"]'),
  resolve: !!e.querySelector('button[data-action="resolve"]'),
})));

async function main() {
  const all = JSON.parse(fs.readFileSync(process.env.DHO_EXPECTED, "utf8"));
  const mine = all.filter((a) => a.team === TEAM).sort(triageOrder);
  const foreign = all.filter((a) => a.team !== TEAM);
  check("the scene has alerts of Kari's team and of another", mine.length >= 2 && foreign.length >= 1,
    JSON.stringify(all.map((a) => [a.id, a.team])));

  const browser = await launch();
  try {
    /* ---- the log-in form ---- */
    const kari = await session(browser, "nb-NO,nb;q=0.9,en;q=0.5");
    await kari.goto(URL_ + "/", { waitUntil: "domcontentloaded" });
    await kari.waitForSelector("input[name=user]", { timeout: WAIT });
    check("log-in form has user, password and a submit button",
      !!(await kari.$("input[name=password]")) && !!(await kari.$("form button[type=submit]")));
    check("no one-time code field while 2FA is off", !(await kari.$("input[name=otp]")));
    check("the page speaks bokmål by default",
      (await kari.$eval("label[for=user]", (e) => e.textContent)) === "Brukernavn" &&
      (await kari.$eval("html", (e) => e.lang)) === "nb");
    await kari.type("input[name=user]", "kari");
    await kari.type("input[name=password]", "not the password");
    await kari.click("form button[type=submit]");
    await kari.waitForFunction(() => document.querySelector("#login-error").textContent.length > 0, { timeout: WAIT });
    check("a wrong password is said in words",
      /Feil brukernavn eller passord/.test(await kari.$eval("#login-error", (e) => e.textContent)));
    await shot(kari, "login.png");

    /* ---- a user with a TOTP secret is asked for her one-time code ---- */
    const tove = await session(browser, "nb-NO,nb;q=0.9");
    await tove.goto(URL_ + "/", { waitUntil: "domcontentloaded" });
    await tove.waitForSelector("input[name=user]", { timeout: WAIT });
    await tove.type("input[name=user]", "tove");
    await tove.type("input[name=password]", process.env.DHO_PASSWORD);
    await tove.click("form button[type=submit]");
    await tove.waitForSelector("input[name=otp]", { timeout: WAIT });
    check("with 2FA the form asks for the one-time code, in words",
      /engangskoden/.test(await tove.$eval("#login-error", (e) => e.textContent)) &&
      (await tove.$eval("input[name=password]", (e) => e.value)) !== "");
    await shot(tove, "login-otp.png");

    /* ---- Kari's triage list ---- */
    await login(kari, "kari");
    let items = await listed(kari);
    check("Kari sees exactly her team's unresolved alerts, in triage order",
      JSON.stringify(items.map((i) => i.id)) === JSON.stringify(mine.map((a) => a.id)),
      "page " + items.map((i) => i.id).join(",") + " expected " + mine.map((a) => a.id).join(","));
    check("no alert of another team is on her page",
      foreign.every((f) => !items.some((i) => i.id === f.id)));
    check("each alert has its severity as data, colour and word, and a link to the patient",
      items.every((i, k) => i.severity === mine[k].severity && i.link === mine[k].patient &&
        (i.severity === "red" ? /RØD/i.test(i.text) : /GUL/i.test(i.text))));
    check("each open alert has kvitter and avslutt", items.every((i) => (i.state !== "open" || i.ack) && i.resolve));
    check("the reason is in bokmål", items.some((i) => /under rød grense 88/.test(i.text)), items.map((i) => i.text).join(" | "));
    check("the latest value has its age", items.every((i) => /for (\d+ min|\d+ t|under ett min) siden/.test(i.text)));
    const counts = await kari.$eval("[data-count=red]", (e) => e.textContent);
    const nred = mine.filter((a) => a.severity === "red").length;
    check("the counts are at the top", counts === nred + (nred === 1 ? " rød" : " røde"), counts);
    await shot(kari, "triage.png");

    /* ---- a second session, Anne's, that must follow without a reload ---- */
    const anne = await session(browser, "nb-NO,nb;q=0.9");
    await login(anne, "anne");
    await anne.evaluate(() => { window.__sameDocument = true; });
    await anne.waitForSelector("#live:not(.off)", { timeout: WAIT });

    /* Kari acks the first open alert, with the keyboard. */
    const target = mine.find((a) => a.state === "open");
    const sel = `#alerts [data-alert="${target.id}"]`;
    await kari.focus(`${sel} a[href]`);
    let onAck = false;
    for (let i = 0; i < 6 && !onAck; i++) {
      await kari.keyboard.press("Tab");
      onAck = await kari.evaluate((s) => document.activeElement === document.querySelector(s),
        `${sel} button[data-action="ack"]`);
    }
    check("Tab reaches the alert's kvitter button", onAck);
    const ring = await kari.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    await kari.keyboard.press("Enter");
    const t0 = Date.now();
    await kari.waitForSelector(`${sel}[data-state="acked"]`, { timeout: WAIT });
    check("the ack shows on Kari's page", /kvittert av kari \d\d:\d\d/.test(await kari.$eval(sel, (e) => e.innerText)));
    check("keyboard focus is visible", ring !== "none", ring);
    await anne.waitForSelector(`${sel}[data-state="acked"]`, { timeout: WAIT });
    const lag = Date.now() - t0;
    check("Anne's page shows the ack without a reload",
      (await anne.evaluate(() => window.__sameDocument === true)) &&
      /kvittert av kari/.test(await anne.$eval(sel, (e) => e.innerText)));
    console.log(`# the ack reached the second session in ${lag} ms (bound: within 2000 ms)`);
    await new Promise((r) => setTimeout(r, 2600)); /* past the highlight */
    await shot(anne, "triage-second-session.png");

    /* ---- avslutt needs a note ---- */
    const other = mine.find((a) => a.id !== target.id);
    const osel = `#alerts [data-alert="${other.id}"]`;
    await kari.click(`${osel} button[data-action="resolve"]`);
    await kari.waitForSelector("dialog[open] textarea[name=note]", { timeout: WAIT });
    await kari.click("dialog[open] button[type=submit]");
    await kari.waitForFunction(() => document.querySelector("dialog[open] .error").textContent.length > 0, { timeout: WAIT });
    check("avslutt without a note is refused in words",
      /notat/i.test(await kari.$eval("dialog[open] .error", (e) => e.textContent)));
    await shot(kari, "resolve-dialog.png");
    await kari.type("dialog[open] textarea[name=note]", "Ringte pasienten, måler igjen i kveld");
    check("the message goes once a note is written",
      (await kari.$eval("dialog[open] .error", (e) => e.textContent)) === "");
    await kari.click("dialog[open] button[type=submit]");
    await kari.waitForFunction((id) => !document.querySelector(`#alerts [data-alert="${id}"]`), { timeout: WAIT }, other.id);
    check("a resolved alert leaves the list", true);
    await anne.waitForFunction((id) => !document.querySelector(`#alerts [data-alert="${id}"]`), { timeout: WAIT }, other.id);
    check("and leaves Anne's list too", true);

    /* ---- the patient view ---- */
    await kari.click(`${sel} a[href]`);
    await kari.waitForSelector('figure.chart[data-metric="spo2"] canvas', { timeout: WAIT });
    const fig = await kari.$eval('figure.chart[data-metric="spo2"]', (f) => ({ ...f.dataset, label: f.querySelector("[role=img]").getAttribute("aria-label") }));
    check("the SpO₂ chart has its yellow and red bands", fig.bands === "2", JSON.stringify(fig));
    check("the SpO₂ chart has the readings", Number(fig.points) >= 20, fig.points);
    check("the SpO₂ chart marks the missing stretch", Number(fig.gaps) >= 1, fig.gaps);
    /* The bands are drawn: the canvas (transparent, so its pixels are the
     * band colours themselves) has many pixels of each band's colour. */
    const colours = await kari.$eval('figure.chart[data-metric="spo2"] canvas', (c) => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      const near = (i, rgba) => rgba.every((v, k) => Math.abs(d[i + k] - v) <= 12);
      let red = 0, yellow = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (near(i, [176, 0, 32, 41])) red++;          /* rgba(176, 0, 32, 0.16) */
        if (near(i, [242, 194, 0, 71])) yellow++;      /* rgba(242, 194, 0, 0.28) */
      }
      return { red, yellow };
    });
    check("the bands are on the canvas", colours.red > 500 && colours.yellow > 500, JSON.stringify(colours));
    check("the readings table is there", (await kari.$$("#readings tbody tr")).length >= 20);
    check("the limits are there", /rød < 88/.test(await kari.$eval("main", (e) => e.innerText)));
    check("the timeline has the ack", /kvittert av kari/.test(await kari.$eval("main", (e) => e.innerText)));
    await shot(kari, "patient.png");
    await kari.click('.range button[data-days="30"]');
    await kari.waitForSelector('.range button[data-days="30"][aria-pressed="true"]', { timeout: WAIT });
    await kari.waitForSelector('figure.chart[data-metric="spo2"] canvas', { timeout: WAIT });
    check("the 30-day view draws too", true);

    /* ---- kvitter with a note, through its dialog ---- */
    await kari.goto(URL_ + "/#/", { waitUntil: "domcontentloaded" });
    const last = mine.find((a) => a.id !== target.id && a.id !== other.id);
    if (last) {
      const lsel = `#alerts [data-alert="${last.id}"]`;
      await kari.waitForSelector(`${lsel} button[data-action="ack-note"]`, { timeout: WAIT });
      await kari.click(`${lsel} button[data-action="ack-note"]`);
      await kari.waitForSelector("dialog[open] textarea[name=note]", { timeout: WAIT });
      await kari.type("dialog[open] textarea[name=note]", "Pasienten hadde gått trapper, ny måling om en time");
      await kari.click("dialog[open] button[type=submit]");
      await kari.waitForSelector(`${lsel}[data-state="acked"]`, { timeout: WAIT });
      check("kvitter with a note shows the note", /Pasienten hadde gått trapper/.test(await kari.$eval(lsel, (e) => e.innerText)));
      await new Promise((r) => setTimeout(r, 2600));
      await shot(kari, "triage-acked.png");
    }

    /* ---- a patient of another team is not Kari's to see ---- */
    await kari.goto(URL_ + "/#/patients/" + encodeURIComponent(foreign[0].patient), { waitUntil: "domcontentloaded" });
    await kari.waitForSelector("main .error", { timeout: WAIT });
    check("another team's patient is not shown", !(await kari.$("figure.chart")));

    /* ---- English ---- */
    const en = await session(browser, "en-GB,en;q=0.9");
    await en.goto(URL_ + "/", { waitUntil: "domcontentloaded" });
    await en.waitForSelector("input[name=user]", { timeout: WAIT });
    check("English through Accept-Language", (await en.$eval("label[for=user]", (e) => e.textContent)) === "User name");
    await login(en, "kari");
    check("the list in English", /Acknowledge|acknowledged by kari/.test(await en.$eval("main", (e) => e.innerText)));
    await shot(en, "triage-en.png");

    clean([["Kari's", kari], ["Anne's", anne], ["the English", en]]);
  } finally {
    await browser.close();
  }
}

run(main);
