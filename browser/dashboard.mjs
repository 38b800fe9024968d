// Drives the dashboard in headless Chromium: sign in, visit every page, check
// the key numbers against the API, switch language, follow a customer link,
// upload a file; fails on any console error, page error, failed request or
// HTTP error. Saves a PNG of every page.
//
// Usage: node browser/dashboard.mjs BASE_URL ADMIN_KEY OUT_DIR
import { chromium } from "playwright-core";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, key, out] = process.argv.slice(2);
if (!base || !key || !out) {
  console.error("usage: node browser/dashboard.mjs BASE_URL ADMIN_KEY OUT_DIR");
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const problems = [];
const checks = [];
function check(what, ok, detail) {
  checks.push({ what, ok });
  if (!ok) problems.push(`${what}: ${detail}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.on("console", (m) => { if (m.type() === "error") problems.push(`console error on ${page.url()}: ${m.text()}`); });
page.on("pageerror", (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
page.on("response", (r) => {
  if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
});

const api = async (path) => {
  const r = await context.request.get(base + path, { headers: { Authorization: `Bearer ${key}` } });
  check(`API ${path}`, r.ok(), r.status());
  return r.json();
};
const shot = async (name) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
const value = async (k) => Number(await page.locator(`[data-k="${k}"]`).first().getAttribute("data-v"));

// Sign in.
await page.goto(base + "/");
check("unsigned visit goes to sign-in", page.url().includes("/login"), page.url());
await shot("login");
await page.fill("#key", key);
await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
check("sign-in lands on the overview", new URL(page.url()).pathname === "/", page.url());
check("Chinese first", (await page.getAttribute("html", "lang")) === "zh-CN", await page.getAttribute("html", "lang"));

// Overview against /v1/stats.
const stats = await api("/v1/stats");
check("overview: relationships", (await value("relationships")) === stats.relationships, `${await value("relationships")} vs ${stats.relationships}`);
check("overview: average index", (await value("avg_index")) === stats.averages.index, `${await value("avg_index")} vs ${stats.averages.index}`);
check("overview: at risk", (await value("at_risk")) === stats.stages.at_risk, `${await value("at_risk")} vs ${stats.stages.at_risk}`);
check("overview: lost", (await value("lost")) === stats.stages.lost, `${await value("lost")} vs ${stats.stages.lost}`);
check("overview: funnel", (await value("funnel_customer")) === stats.funnel.find((f) => f.stage === "customer").reached, "funnel_customer");
check("overview: charts", (await page.locator("svg.chart").count()) >= 3, await page.locator("svg.chart").count());
await shot("overview-zh");

// Switch language.
await Promise.all([page.waitForNavigation(), page.click("a.lang")]);
check("switch to English", (await page.getAttribute("html", "lang")) === "en", await page.getAttribute("html", "lang"));
check("English text", (await page.textContent("h1")).includes("Overview"), await page.textContent("h1"));
await shot("overview-en");
await Promise.all([page.waitForNavigation(), page.click("a.lang")]);
check("switch back to Chinese", (await page.getAttribute("html", "lang")) === "zh-CN", "");

// Customers against /v1/customers, then follow a link.
await Promise.all([page.waitForNavigation(), page.click('header nav a[href="/customers"]')]);
const list = await api("/v1/customers?limit=50");
check("customers: total", (await value("total")) === list.total, `${await value("total")} vs ${list.total}`);
const firstId = await page.locator("a.customer").first().textContent();
check("customers: first row is the API's first", firstId === list.customers[0].customer, `${firstId} vs ${list.customers[0].customer}`);
await shot("customers");
// Filter at risk.
await page.check('input[name="at_risk"]');
await Promise.all([page.waitForNavigation(), page.click("form.filters button")]);
const risky = await api("/v1/customers?at_risk=true&limit=1");
check("customers: at-risk filter", (await value("total")) === risky.total, `${await value("total")} vs ${risky.total}`);
await shot("customers-at-risk");
await Promise.all([page.waitForNavigation(), page.locator("a.customer").first().click()]);
const id = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
const c = await api(`/v1/customers/${encodeURIComponent(id)}`);
check("customer: index", (await value("index")) === c.index, `${await value("index")} vs ${c.index}`);
check("customer: stage", (await page.locator('[data-k="stage"]').getAttribute("data-v")) === c.stage, c.stage);
const st = await api(`/v1/customers/${encodeURIComponent(id)}/statement`);
check("customer: deposits", (await value("deposits")) === st.deposits, `${await value("deposits")} vs ${st.deposits}`);
check("customer: statement lines", (await page.locator("table.statement tbody tr").count()) === st.lines_total, "lines");
await shot("customer");

// Refit the forecasts from the customer list (the demo fitted them as of its last day): the
// button says what it does while it works, and the page after it says what the refit did; the
// API then shows a forecast fitted later than the demo's.
await page.goto(base + "/customers");
const busy = await page.locator("form.refit button").getAttribute("data-busy");
check("refit: the button has its working text", !!busy, busy);
const forecastBefore = list.customers.find((c) => c.forecast);
await Promise.all([page.waitForURL("**/customers?refitted=**", { timeout: 120000 }), page.click("form.refit button")]);
const refitted = await value("refitted");
check("refit: customers fitted", refitted > 0, refitted);
if (forecastBefore) {
  const again = await api(`/v1/customers/${encodeURIComponent(forecastBefore.customer)}`);
  check("refit: the API shows the new fit", again.forecast && again.forecast.fitted_at > forecastBefore.forecast.fitted_at, `${JSON.stringify(again.forecast)} vs ${forecastBefore.forecast.fitted_at}`);
} else {
  check("refit: a customer with a forecast to compare", false, "none in the first 50");
}
await shot("refitted");

// Operators against /v1/operators.
await Promise.all([page.waitForNavigation(), page.click('header nav a[href="/operators"]')]);
const ops = await api("/v1/operators");
for (const op of ops.operators.filter((o) => o.operator)) {
  const row = page.locator(`tr[data-operator="${op.operator}"] [data-k="relationships"]`);
  check(`operators: ${op.operator}`, Number(await row.getAttribute("data-v")) === op.relationships, op.relationships);
}
await shot("operators");

// Import a file.
await Promise.all([page.waitForNavigation(), page.click('header nav a[href="/import"]')]);
const file = join(out, "upload.ndjson");
writeFileSync(file, [
  '{"id":"browser-1","type":"contact.added","at":"2026-11-02T10:00:00+08:00","customer":"browser-c1","operator":"op01"}',
  '{"id":"browser-2","type":"message.received","at":"2026-11-02T10:05:00+08:00","customer":"browser-c1","operator":"op01","channel":"direct","text":"你好"}',
].join("\n") + "\n");
await page.setInputFiles("#file", file);
await page.click("#import-form button");
await page.waitForSelector('#progress[data-state="done"]', { timeout: 60000 });
const summary = await page.textContent("#summary");
// (the page is in Chinese here, and so is the summary)
check("import: summary", summary.includes("已接受：2"), summary);
await shot("import");
const after = await api("/v1/customers/browser-c1");
check("import: the customer exists", after.customer === "browser-c1", JSON.stringify(after));

// Set the shop's clock on the same page; the API reads it back.
await page.fill("#offset", "-05:00");
await Promise.all([page.waitForNavigation(), page.click("#clock button")]);
const shown = await page.getAttribute('[data-k="clock"]', "data-v");
check("clock: shown after saving", shown === "-05:00", shown);
const clock = await api("/v1/clock");
check("clock: the API reads it", clock.own === "-05:00", JSON.stringify(clock));
await shot("clock");

// Phone width.
await page.setViewportSize({ width: 390, height: 844 });
await page.goto(base + "/");
const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
check("phone: no horizontal overflow", overflow <= 1, `${overflow}px`);
await shot("overview-phone");
await page.goto(base + `/customers/${encodeURIComponent(id)}`);
// the statement's effects stay in view: a stage change or an answered push wraps under its
// figure instead of widening the column past the screen
const statementFits = await page.evaluate(() => {
  const t = document.querySelector("table.statement");
  if (!t) return "no statement";
  const card = t.closest(".card");
  const over = t.getBoundingClientRect().right - card.getBoundingClientRect().right;
  return over <= 1 ? "" : `the table runs ${Math.round(over)}px past its card`;
});
check("phone: the statement's effects in view", statementFits === "", statementFits);
await shot("customer-phone");

await browser.close();
console.log(JSON.stringify({ checks: checks.length, problems }, null, 2));
process.exit(problems.length ? 1 : 0);
