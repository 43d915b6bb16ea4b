/*
 * escalation.js: who sees what when an alert escalates, in two live
 * browser sessions. Run by tests/integ/test_browser.c with [alerts]
 * ack_s.yellow short, home nursing in Vefsn escalating to the hospital's
 * DHO team, Ola (home nursing) and Kari (hospital). Besides lib.js's
 * environment it gets DHO_MQTT_PORT and DHO_READING_TOPIC: with both
 * nurses' pages open, it publishes the reading that opens the alert.
 */
"use strict";

const { execFileSync } = require("child_process");
const { WAIT, check, launch, session, login, shot, clean, run } = require("./lib");

async function main() {
  const browser = await launch();
  try {
    const ola = await session(browser, "nb-NO,nb;q=0.9");
    const kari = await session(browser, "nb-NO,nb;q=0.9");
    await login(ola, "ola");
    await login(kari, "kari");
    await ola.waitForSelector("#live:not(.off)", { timeout: WAIT });
    await kari.waitForSelector("#live:not(.off)", { timeout: WAIT });
    check("before: no alerts for either", !(await ola.$("[data-alert]")) && !(await kari.$("[data-alert]")));
    await ola.evaluate(() => { window.__sameDocument = true; });
    await kari.evaluate(() => { window.__sameDocument = true; });

    /* The home nursing patient's SpO2 falls to 91: a yellow alert to Ola's team. */
    execFileSync("mosquitto_pub", ["-p", process.env.DHO_MQTT_PORT, "-q", "1", "-t",
      process.env.DHO_READING_TOPIC, "-m", '{"metric": "spo2", "value": 91}']);
    const t0 = Date.now();
    await ola.waitForSelector('#alerts [data-alert][data-severity="yellow"]', { timeout: WAIT });
    console.log(`# the new alert reached Ola's page in ${Date.now() - t0} ms`);
    const id = await ola.$eval("#alerts [data-alert]", (e) => e.dataset.alert);
    check("a new alert appears on Ola's page without a reload",
      (await ola.evaluate(() => window.__sameDocument === true)) &&
      /Hjemmesykepleien Vefsn/.test(await ola.$eval("#alerts [data-alert]", (e) => e.innerText)));
    await shot(ola, "escalation-home-before.png");

    /* Nobody in home nursing acks it: it escalates to the hospital. */
    const sel = `#alerts [data-alert="${id}"]`;
    await kari.waitForFunction((s) => {
      const el = document.querySelector(s);
      return el && /eskalert fra Hjemmesykepleien Vefsn/.test(el.innerText);
    }, { timeout: 60000 }, sel);
    const text = await kari.$eval(sel, (e) => e.innerText);
    check("after the escalation Kari has it, marked eskalert fra Hjemmesykepleien Vefsn, as her team's",
      /Ansvarlig team\s+Sykehusets DHO-team Mosjoen/.test(text) &&
      !!(await kari.$(`${sel} button[data-action="ack"]`)), text);
    await ola.waitForFunction((s) => !document.querySelector(s), { timeout: WAIT }, sel);
    check("and it has left Ola's list, without a reload", await ola.evaluate(() => window.__sameDocument === true));
    check("Ola is told where it went", /eskalert til Sykehusets DHO-team Mosjoen/.test(
      await ola.$eval(`[data-moved="${id}"]`, (e) => e.innerText).catch(() => "")));
    await new Promise((r) => setTimeout(r, 2600));
    await shot(kari, "escalation-hospital.png");
    await shot(ola, "escalation-home-after.png");

    /* Kari may open the patient while her team holds its alert. */
    await kari.click(`${sel} a[href]`);
    await kari.waitForSelector('figure.chart[data-metric="spo2"]', { timeout: WAIT });
    check("Kari opens the home nursing patient through the escalated alert",
      /eskalert til Sykehusets DHO-team Mosjoen/.test(await kari.$eval("main", (e) => e.innerText)));
    clean([["Ola's", ola], ["Kari's", kari]]);
  } finally {
    await browser.close();
  }
}

run(main);
