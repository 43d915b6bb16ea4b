/*
 * lib.js: what the browser tests share: the checks and their closing line,
 * Chromium launched as the tests need it, one browser session per nurse
 * (its own cookies, its language, a record of requests to other hosts and
 * of script errors), log-in and screenshots. The environment is the one
 * tests/integ/test_browser.c passes (see workspace.js).
 */
"use strict";

const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");

const URL_ = process.env.DHO_URL;
const PASSWORD = process.env.DHO_PASSWORD;
const SHOTS = process.env.DHO_SHOTS;
const TMP = process.env.DHO_TMP || fs.mkdtempSync("/tmp/dho-browser-");
const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
/* Generous: a deadline, not a speed check (the promised 2 s is measured
 * and printed, the machine may be loaded). */
const WAIT = 20000;

let passed = 0, failed = 0;
function check(what, cond, detail) {
  if (cond) { passed++; console.log("ok - " + what); }
  else { failed++; console.log("not ok - " + what + (detail ? ": " + detail : "")); }
  return cond;
}

function launch() {
  fs.mkdirSync(SHOTS, { recursive: true });
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--user-data-dir=" + fs.mkdtempSync(path.join(TMP, "chromium-"))],
  });
}

async function session(browser, lang) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  /* The browser's language, as Accept-Language and navigator.languages. */
  const cdp = await page.createCDPSession();
  await cdp.send("Network.setUserAgentOverride", { userAgent: await browser.userAgent(), acceptLanguage: lang });
  page.foreign = [];
  page.errors = [];
  page.on("request", (r) => { if (!r.url().startsWith(URL_ + "/") && !r.url().startsWith("data:")) page.foreign.push(r.url()); });
  page.on("pageerror", (e) => page.errors.push(e.message));
  /* The API's 401 and 404 answers are expected (before log-in, a wrong
   * password, another team's patient); any other failed response is not. */
  page.on("response", (r) => {
    if (r.status() >= 400 && !(r.url().includes("/api/v1/") && [401, 404].includes(r.status())))
      page.errors.push(r.status() + " " + r.url());
  });
  page.on("console", (m) => {
    if (m.type() === "error" && !/^Failed to load resource/.test(m.text())) page.errors.push(m.text());
  });
  return page;
}

async function login(page, user) {
  await page.goto(URL_ + "/", { waitUntil: "domcontentloaded" });
  await page.waitForSelector("input[name=user]", { timeout: WAIT });
  await page.type("input[name=user]", user);
  await page.type("input[name=password]", PASSWORD);
  await page.click("form button[type=submit]");
  await page.waitForSelector("#alerts [data-alert], #alerts-empty", { timeout: WAIT });
}

const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, name), fullPage: true });

/* No page asked another host or had a script error. */
function clean(pages) {
  for (const [name, p] of pages) {
    check(`${name} page asked no other host`, p.foreign.length === 0, p.foreign.join(" "));
    check(`${name} page had no script errors`, p.errors.length === 0, p.errors.join(" | "));
  }
}

/* Runs main, prints the closing line and exits 1 on any failure. */
function run(main) {
  main().catch((e) => { failed++; console.log("not ok - " + (e && e.stack ? e.stack : e)); })
    .finally(() => {
      console.log(`${passed} passed, ${failed} failed`);
      process.exit(failed ? 1 : 0);
    });
}

module.exports = { URL_, WAIT, check, launch, session, login, shot, clean, run };
