// Browser tests of the Guanxi web UI, run by e2e/run.sh against a server loaded with the demo data.
// Debian chromium, headless, driven by playwright-core; one screenshot per test in $ARTIFACTS.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import path from "node:path";
import fs from "node:fs";

const BASE = process.env.GUANXI_URL ?? "http://127.0.0.1:8080";
const ARTIFACTS = process.env.ARTIFACTS ?? "test-artifacts/e2e";
const PASSWORD = "guanxi-demo-2026";
const ADMIN = "admin@demo.guanxi";

let browser;
let seeded;
/** Pages opened by the current test; `shown` (else the last one) is photographed afterwards. */
let pages = [];
let shown = null;

async function api(method, url, token, body) {
  const r = await fetch(BASE + url, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${url}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function token(email) {
  return (await api("POST", "/api/v1/auth/token", null, { email, password: PASSWORD })).token;
}

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // Records the tests rely on, made through the public API: a 张伟 with a known phone, a private contact of
  // the International team.
  const admin = await token(ADMIN);
  const suffix = String(Date.now()).slice(-4);
  const zhang = await api("POST", "/api/v1/contacts", admin, {
    family_name: "张",
    given_name: "伟",
    phones: [{ number: `1390000${suffix}` }],
    job_title: "采购经理",
  });
  const david = await token("david.young@demo.guanxi");
  const secret = await api("POST", "/api/v1/contacts", david, {
    display_name: "Private Pat",
    visibility: "private",
  });
  // Custom fields of contacts (not required, so the other tests' forms stay valid): a web address and a
  // multiple choice, with keys of this run.
  const site = await api("POST", "/api/v1/custom-fields", admin, {
    object: "contact",
    key: `site_${suffix}`,
    label: `官网 ${suffix}`,
    kind: "url",
  });
  const channels = await api("POST", "/api/v1/custom-fields", admin, {
    object: "contact",
    key: `channels_${suffix}`,
    label: `渠道 ${suffix}`,
    kind: "multi_select",
    options: ["微信", "电话", "邮件"],
  });
  const company = await api("POST", "/api/v1/companies", admin, { name: `待删除贸易 ${suffix}` });
  const harbor = await api("POST", "/api/v1/companies", admin, { name: `海港茶业 ${suffix}` });
  seeded = { zhang, secret, phoneSuffix: `0${suffix}`, site: site.key, channels: channels.key, company, harbor, suffix };
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
});

afterEach(async (t) => {
  const page = shown ?? pages.at(-1);
  if (page && !page.isClosed()) {
    const file = path.join(ARTIFACTS, `${t.name.replace(/[^\w\u4e00-\u9fff-]+/g, "_")}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  }
  for (const p of pages) await p.context().close().catch(() => {});
  pages = [];
  shown = null;
});

/** A fresh browser profile (no cookies) showing a page, in Chinese unless told otherwise. */
async function newPage({ locale = "zh-CN", width = 1280 } = {}) {
  const context = await browser.newContext({ locale, viewport: { width, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  pages.push(page);
  return page;
}

async function login(page, email = ADMIN) {
  await page.goto(BASE + "/contacts");
  assert.match(page.url(), /\/login\?next=/);
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForURL(/\/contacts$/), page.click("form.stack button[type=submit]")]);
}

test("logs in and sees the contact list", async () => {
  const page = await newPage();
  await page.goto(BASE + "/login");
  await page.fill("#email", ADMIN);
  await page.fill("#password", "wrong password");
  await page.click("form.stack button[type=submit]");
  assert.equal(await page.textContent("#login-message"), "邮箱或密码不正确。");
  await login(page);
  assert.equal(await page.textContent("h1"), "联系人");
  assert.match(await page.textContent("#contacts-total"), /^共 [\d,]+ 位联系人$/);
  assert.ok((await page.locator("table.list tbody tr").count()) > 10);
});

test("finds 张伟 with the typeahead, by keyboard, and opens the contact", async () => {
  const page = await newPage();
  await login(page);
  await page.focus("#global-search");
  await page.keyboard.type("张伟");
  const option = page.locator("#search-suggestions [role=option]", { hasText: "张伟" }).first();
  await option.waitFor();
  assert.equal(await page.getAttribute("#global-search", "aria-expanded"), "true");
  // A phone ending finds the same contact.
  await page.fill("#global-search", seeded.phoneSuffix);
  const byPhone = page.locator(`#search-suggestions [role=option][data-url="/contacts/${seeded.zhang.id}"]`);
  await byPhone.waitFor();
  // Arrow down to it (other contacts may share the ending and rank first).
  const urls = await page.$$eval("#search-suggestions [role=option]", (els) => els.map((e) => e.dataset.url));
  const index = urls.indexOf(`/contacts/${seeded.zhang.id}`);
  for (let i = 0; i <= index; i++) await page.keyboard.press("ArrowDown");
  assert.equal(await byPhone.getAttribute("aria-selected"), "true");
  await Promise.all([page.waitForURL(`**/contacts/${seeded.zhang.id}`), page.keyboard.press("Enter")]);
  assert.equal(await page.textContent("h1"), "张伟");
});

test("keyboard only: skip link, visible focus, typeahead with arrows, Escape and Enter", async () => {
  const page = await newPage({ locale: "en-US" });
  await login(page);
  // The first Tab reaches the skip link, shown while focused; it moves focus to the page's content.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.className), "skip-link");
  const box = await page.locator(".skip-link").boundingBox();
  assert.ok(box && box.x >= 0 && box.y >= 0, "the focused skip link is on screen");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.id), "main");
  // From the top, Tab reaches the search box through the navigation; every stop shows a focus ring.
  await page.evaluate(() => document.activeElement.blur());
  await page.goto(BASE + "/contacts");
  const stops = [];
  for (let i = 0; i < 20 && stops.at(-1)?.id !== "global-search"; i++) {
    await page.keyboard.press("Tab");
    stops.push(
      await page.evaluate(() => {
        const el = document.activeElement;
        const s = getComputedStyle(el);
        return { id: el.id, text: el.textContent.trim(), outline: s.outlineStyle, width: parseFloat(s.outlineWidth) };
      }),
    );
  }
  assert.equal(stops.at(-1).id, "global-search", `Tab reaches the search box: ${JSON.stringify(stops)}`);
  assert.ok(stops.some((s) => s.text === "Companies"), "the navigation is on the way");
  for (const s of stops) assert.ok(s.outline !== "none" && s.width >= 2, `focus visible on ${JSON.stringify(s)}`);
  // Typeahead: suggestions come while typing; arrows move the choice (wrapping), Escape closes and keeps the
  // words, ArrowDown opens again, Enter opens the chosen record.
  await page.keyboard.type("张伟");
  const options = page.locator("#search-suggestions [role=option]:not([aria-disabled])");
  await options.first().waitFor();
  const count = await options.count();
  await page.keyboard.press("ArrowDown");
  assert.equal(await options.nth(0).getAttribute("aria-selected"), "true");
  assert.equal(await page.getAttribute("#global-search", "aria-activedescendant"), await options.nth(0).getAttribute("id"));
  await page.keyboard.press("ArrowUp");
  assert.equal(await options.nth(count - 1).getAttribute("aria-selected"), "true", "ArrowUp wraps to the last");
  await page.keyboard.press("Escape");
  assert.equal(await page.getAttribute("#global-search", "aria-expanded"), "false");
  assert.ok(await page.locator("#search-suggestions").isHidden());
  assert.equal(await page.inputValue("#global-search"), "张伟", "Escape keeps what was typed");
  await page.keyboard.press("ArrowDown");
  await options.first().waitFor();
  await page.keyboard.press("ArrowDown");
  const url = await options.nth(0).getAttribute("data-url");
  await Promise.all([page.waitForURL(`**${url}`), page.keyboard.press("Enter")]);
  assert.ok((await page.textContent("h1")).trim(), "the chosen record's page");
  shown = page;
});

test("every input of the main pages has a label", async () => {
  const page = await newPage({ locale: "en-US" });
  await login(page);
  const unlabelled = [];
  for (const url of [
    "/contacts",
    `/contacts/${seeded.zhang.id}`,
    "/contacts/new",
    "/companies",
    `/companies/${seeded.harbor.id}`,
    "/companies/new",
    "/imports",
    "/orders",
    "/orders/new",
    "/products",
    "/products/new",
    "/activities",
    "/activities/new",
    "/tasks",
    "/tasks/new",
    "/search?q=%E5%BC%A0",
    "/settings/users",
    "/settings/fields",
    "/settings/tokens",
  ]) {
    const resp = await page.goto(BASE + url);
    assert.equal(resp.status(), 200, url);
    const missing = await page.$$eval("input:not([type=hidden]), select, textarea, button", (els) =>
      els
        .filter((el) => {
          const named = el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || el.getAttribute("title");
          if (el.tagName === "BUTTON") return !named && !el.textContent.trim();
          return !named && !(el.labels && el.labels.length);
        })
        .map((el) => el.outerHTML.slice(0, 120)),
    );
    for (const m of missing) unlabelled.push(`${url}: ${m}`);
  }
  assert.deepEqual(unlabelled, []);
});

test("creates a contact: a field error first, then fixed", async () => {
  const page = await newPage({ width: 375 });
  await login(page);
  await page.click("a.button.primary[href='/contacts/new']");
  await page.fill("#new-family_name", "王");
  await page.fill("#new-given_name", "小明");
  await page.fill("#new-email", "wang.xiaoming@");
  await page.click(".form-actions button[type=submit]");
  assert.equal(await page.getAttribute("#new-email", "aria-invalid"), "true");
  assert.equal(await page.textContent("#new-email-error"), "请输入有效的邮箱地址");
  assert.equal(await page.inputValue("#new-given_name"), "小明", "the other values are kept");
  await page.fill("#new-email", `wang.xiaoming.${Date.now()}@example.com`);
  await Promise.all([page.waitForURL(/\/contacts\/[0-9a-f-]{36}$/), page.click(".form-actions button[type=submit]")]);
  assert.equal(await page.textContent("h1"), "王小明");
  // Nothing sticks out of a 375 px wide phone screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
});

test("an edit made elsewhere meanwhile is shown as a conflict", async () => {
  const url = `${BASE}/contacts/${seeded.zhang.id}`;
  const a = await newPage();
  await login(a);
  const b = await newPage();
  await login(b);
  await a.goto(url);
  await b.goto(url);
  // B saves first.
  await b.click("#field-job_title .edit-link");
  await b.fill("#input-job_title", "销售总监");
  await Promise.all([b.waitForURL(/saved=1/), b.click("#edit-job_title button[type=submit]")]);
  assert.equal((await b.textContent("#field-job_title .value")).trim(), "销售总监");
  // A, still on the old version, tries to save: the conflict is shown, nothing is overwritten.
  await a.click("#field-job_title .edit-link");
  assert.ok(await a.locator("#input-job_title").evaluate((el) => el === document.activeElement), "input focused");
  await a.fill("#input-job_title", "采购总监");
  await a.click("#edit-job_title button[type=submit]");
  await a.locator("#field-job_title .alert.conflict").waitFor();
  assert.equal(await a.textContent("#field-job_title .current-value"), "销售总监");
  assert.equal(await a.inputValue("#input-job_title"), "采购总监");
  await b.reload();
  assert.equal((await b.textContent("#field-job_title .value")).trim(), "销售总监");
  shown = a;
});

test("logs a note and sees it on the timeline", async () => {
  const page = await newPage();
  await login(page);
  await page.goto(`${BASE}/contacts/${seeded.zhang.id}`);
  const note = `电话沟通了新报价 ${Date.now()}`;
  await page.check("#log-kind-note");
  await page.fill("#log-body", note);
  await page.click("#log button[type=submit]");
  const entry = page.locator("ol.timeline li", { hasText: note });
  await entry.waitFor();
  assert.equal(await page.locator("ol.timeline li").first().locator(".body").textContent(), note, "newest first");
  assert.equal(await entry.locator(".badge").textContent(), "备注");
});

test("switches to English and back", async () => {
  const page = await newPage();
  await login(page, "li.na@demo.guanxi");
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  await Promise.all([page.waitForURL(/\/contacts/), page.click(".lang-switch button")]);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal(await page.textContent("h1"), "Contacts");
  assert.equal(await page.textContent(".mainnav [aria-current=page]"), "Contacts");
  assert.match(await page.textContent("#contacts-total"), /^[\d,]+\+? contacts$/);
  // The choice is saved on the user: a new session on this account is in English too.
  const other = await newPage();
  await login(other, "li.na@demo.guanxi");
  assert.equal(await other.getAttribute("html", "lang"), "en");
  await Promise.all([page.waitForURL(/\/contacts/), page.click(".lang-switch button")]);
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  assert.equal(await page.textContent("h1"), "联系人");
  shown = other;
});

test("a member cannot open another team's private contact by URL", async () => {
  const page = await newPage();
  await login(page, "wang.fang@demo.guanxi");
  const resp = await page.goto(`${BASE}/contacts/${seeded.secret.id}`);
  assert.equal(resp.status(), 404);
  assert.equal(await page.textContent("h1"), "找不到页面");
  assert.ok(!(await page.content()).includes("Private Pat"));
});

test("creates a company: a field error first, then its own page", async () => {
  const page = await newPage({ width: 375 });
  await login(page);
  await page.click(".mainnav a[href='/companies']");
  assert.equal(await page.textContent("h1"), "公司");
  await page.click("a.button.primary[href='/companies/new']");
  await page.fill("#f-address_city", "杭州");
  await page.click(".form-actions button[type=submit]");
  assert.equal(await page.getAttribute("#f-name", "aria-invalid"), "true");
  assert.equal(await page.textContent("#f-name-error"), "此项必填");
  assert.equal(await page.inputValue("#f-address_city"), "杭州", "the other values are kept");
  const name = `西湖茶业 ${Date.now()}`;
  await page.fill("#f-name", name);
  await page.fill("#f-industry", "茶叶");
  await Promise.all([page.waitForURL(/\/companies\/[0-9a-f-]{36}\?saved=1$/), page.click(".form-actions button[type=submit]")]);
  assert.equal(await page.textContent("h1"), name);
  assert.equal(await page.textContent("p.alert.info"), "已保存。");
  assert.equal(await page.textContent("#contacts-h"), "联系人");
  assert.equal(await page.textContent("#timeline-h"), "时间线");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
  // The new company is found by the global search and listed.
  await page.goto(`${BASE}/companies?industry=${encodeURIComponent("茶叶")}`);
  assert.ok(await page.locator("table.list tbody th a", { hasText: name }).count(), "listed");
});

test("bulk-tags two contacts from the list", async () => {
  const page = await newPage({ width: 375 });
  await login(page);
  await page.goto(`${BASE}/contacts?sort=-created_at`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the list is ${overflow}px wider than the screen`);
  const tag = `展会${Date.now()}`;
  const boxes = page.locator("table.list tbody td.select input[type=checkbox]");
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.selectOption("#bulk-action", "tag");
  await page.fill("#bulk-tag", tag);
  await Promise.all([page.waitForURL(/bulk_done=2/), page.click(".bulk-bar button[type=submit]")]);
  assert.equal(await page.textContent("#list-notice"), "已修改 2 位联系人。");
  await page.goto(`${BASE}/contacts?tag=${encodeURIComponent(tag)}`);
  assert.equal(await page.textContent("#contacts-total"), "共 2 位联系人");
  // Saving this view makes it one click away.
  await page.fill("#view-name", tag);
  await Promise.all([page.waitForURL(/view_saved=1/), page.click(".save-view button[type=submit]")]);
  assert.equal(await page.textContent(".views a[aria-current=page]"), tag);
});

test("edits custom fields on the contact page: an error at the field, then saved", async () => {
  const page = await newPage({ width: 375 });
  await login(page);
  await page.goto(`${BASE}/contacts/${seeded.zhang.id}`);
  const site = `custom_${seeded.site}`;
  await page.click(`#field-${site} .edit-link`);
  assert.ok(await page.locator(`#input-${site}`).evaluate((el) => el === document.activeElement), "input focused");
  await page.fill(`#input-${site}`, "官网地址");
  await page.click(`#edit-${site} button[type=submit]`);
  await page.locator(`#error-${site}`).waitFor();
  assert.equal(await page.getAttribute(`#input-${site}`, "aria-invalid"), "true");
  assert.equal(await page.textContent(`#error-${site}`), "请输入以 https:// 或 http:// 开头的网址，例如 https://example.com");
  assert.equal(await page.inputValue(`#input-${site}`), "官网地址", "the typed value is kept");
  await page.fill(`#input-${site}`, "https://zhangwei.example.cn");
  await Promise.all([page.waitForURL(/saved=1/), page.click(`#edit-${site} button[type=submit]`)]);
  assert.equal(await page.textContent(`#field-${site} .value a`), "https://zhangwei.example.cn");
  // A multiple choice is a checkbox per option.
  const channels = `custom_${seeded.channels}`;
  await page.click(`#field-${channels} .edit-link`);
  await page.check(`#edit-${channels} label:has-text("微信")`);
  await page.check(`#edit-${channels} label:has-text("邮件")`);
  await Promise.all([page.waitForURL(/saved=1/), page.click(`#edit-${channels} button[type=submit]`)]);
  assert.equal((await page.textContent(`#field-${channels} .value`)).trim(), "微信、邮件");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
});

test("chooses a contact's company on its page with the typeahead", async () => {
  const page = await newPage();
  await login(page);
  await page.goto(`${BASE}/contacts/${seeded.zhang.id}`);
  await page.click("#field-company .edit-link");
  await page.fill("#company-q", `海港茶业 ${seeded.suffix}`);
  await page.locator(`#input-company option[value="${seeded.harbor.id}"]`).waitFor({ state: "attached" });
  assert.equal(await page.inputValue("#input-company"), seeded.harbor.id, "the first match is chosen");
  await Promise.all([page.waitForURL(/saved=1/), page.click("#edit-company button.primary")]);
  assert.equal(await page.textContent("#field-company .value a"), `海港茶业 ${seeded.suffix}`);
  assert.equal(await page.getAttribute("#field-company .value a", "href"), `/companies/${seeded.harbor.id}`);
});

test("deletes a company after confirming", async () => {
  const page = await newPage({ width: 375 });
  await login(page);
  const url = `${BASE}/companies/${seeded.company.id}`;
  await page.goto(url);
  // Cancel first: nothing happens.
  await page.click(`.head-actions a[href="/companies/${seeded.company.id}/delete"]`);
  assert.equal(await page.textContent("#delete-h"), `删除“待删除贸易 ${seeded.suffix}”？`);
  assert.match(await page.textContent("#delete-consequence"), /其联系人和订单会保留/);
  await Promise.all([page.waitForURL(url), page.click("section.card form a")]);
  await page.click(`.head-actions a[href="/companies/${seeded.company.id}/delete"]`);
  await Promise.all([page.waitForURL(/\/companies\?deleted=1$/), page.click("#delete-confirm")]);
  assert.equal(await page.textContent("#list-notice"), "已删除。");
  const resp = await page.goto(url);
  assert.equal(resp.status(), 404);
});

test("scans for duplicates, merges 张伟 / 張偉 taking one field from the other record, and undoes it", async () => {
  // The same person entered twice: the phone once as +86 and once as 0086, the name in both scripts.
  const admin = await token(ADMIN);
  const digits = `137${String(Date.now()).slice(-8)}`;
  const spaced = `${digits.slice(0, 3)} ${digits.slice(3, 7)} ${digits.slice(7)}`;
  const older = await api("POST", "/api/v1/contacts", admin, {
    display_name: "张伟",
    phones: [{ number: `+86 ${spaced}` }],
    job_title: "采购经理",
  });
  const newer = await api("POST", "/api/v1/contacts", admin, {
    display_name: "張偉",
    phones: [{ number: `0086 ${spaced}` }],
    job_title: "销售总监",
  });

  const page = await newPage();
  await login(page);
  await Promise.all([page.waitForURL(/\/dedup\?object=contacts$/), page.click("#dedup-link")]);
  await Promise.all([page.waitForURL(/\/dedup\?object=contacts$/), page.click("#start-scan")]);
  // Without JavaScript the page reloads itself (Refresh header) until the scan ends.
  let status = "";
  for (let i = 0; i < 120 && !/上次扫描完成/.test(status); i++) {
    await page.waitForTimeout(500);
    status = (await page.textContent("#scan-status").catch(() => "")) ?? "";
  }
  assert.match(status, /上次扫描完成/);

  const pairs = await api("GET", "/api/v1/dedup/candidates?object=contacts&limit=500", admin);
  const pair = pairs.items.find((c) => {
    const ids = c.records.map((r) => r.id);
    return ids.includes(older.id) && ids.includes(newer.id);
  });
  assert.ok(pair, "the scan found the pair");
  const link = page.locator(`a[href="/dedup/candidates/${pair.id}"]`);
  if (await link.count()) {
    await Promise.all([page.waitForURL(`**/dedup/candidates/${pair.id}`), link.click()]);
  } else {
    await page.goto(`${BASE}/dedup/candidates/${pair.id}`);
  }
  assert.match(await page.textContent("#pair-reasons"), /手机号码相同/);
  assert.match(await page.textContent("#pair-reasons"), /繁简/);
  // Keep the older record, but take the job title of the newer one.
  assert.ok(await page.isChecked("#survivor-0"));
  await page.check("#f-job_title-1");
  await page.click("#review-merge");
  assert.match(await page.textContent("#confirm-body"), /保留 张伟/);
  assert.ok((await page.locator("#merge-form dd", { hasText: "销售总监" }).count()) === 1);
  await Promise.all([page.waitForURL(/\/dedup\/merges\?object=contacts&merged=/), page.click("#merge-now")]);
  await Promise.all([page.waitForURL(`**/contacts/${older.id}`), page.click("#merged-survivor")]);
  assert.equal(await page.textContent("h1"), "张伟");
  const body = await page.textContent("main");
  assert.ok(body.includes("销售总监") && !body.includes("采购经理"), "the chosen job title came from 張偉");
  shown = page;

  // Undo: both records are back as they were.
  await page.goBack();
  await Promise.all([page.waitForURL(/undone=/), page.click("#undo-merge")]);
  assert.match(await page.textContent("#merge-notice"), /合并已撤销/);
  await page.goto(`${BASE}/contacts/${newer.id}`);
  assert.equal(await page.textContent("h1"), "張偉");
  await page.goto(`${BASE}/contacts/${older.id}`);
  assert.ok((await page.textContent("main")).includes("采购经理"));
});

test("imports a CSV through the pages: upload, check the mapping, start, watch, undo", async () => {
  const page = await newPage();
  await login(page);
  await Promise.all([page.waitForURL(/\/imports\?type=contacts$/), page.click("#import-link")]);
  assert.equal(await page.textContent("h1"), "导入");
  const s = seeded.suffix;
  const csv = `姓名,手机,邮箱\n导入甲${s},13700${s.padStart(6, "0")},import-a-${s}@example.com\n导入乙${s},,import-b-${s}@example.com\n坏行${s},,not-an-email\n`;
  await page.setInputFiles("#import-file", { name: `客户-${s}.csv`, mimeType: "text/csv", buffer: Buffer.from(csv) });
  await Promise.all([page.waitForURL(/\/imports\/preview\?/), page.click("#upload-button")]);
  assert.equal(await page.textContent("h1"), "检查导入");
  // The proposed mapping, one labelled select per column.
  assert.equal(await page.inputValue("#col-0"), "name");
  assert.equal(await page.inputValue("#col-1"), "phone");
  assert.equal(await page.inputValue("#col-2"), "email");
  assert.match(await page.textContent("#preview-rows tbody"), new RegExp(`导入甲${s}`));
  assert.equal(await page.locator("#preview-rows tbody ul.field-error").count(), 1, "the bad row shows its reason");
  await Promise.all([page.waitForURL(/\/imports\/[0-9a-f-]{36}$/), page.click("#start-import")]);
  // The page asks to be refreshed until the job ends; reloading here keeps the wait deterministic.
  const job = page.url();
  for (let i = 0; i < 300 && (await page.textContent("#import-status")) !== "已完成"; i++) {
    await page.waitForTimeout(100);
    await page.goto(job);
  }
  assert.equal(await page.textContent("#import-counts"), "已读取 3 行：新建 2，更新 0，拒绝 1");
  assert.match(await page.textContent("#rejected-rows tbody"), /邮箱/);
  await Promise.all([page.waitForURL(/notice=undone$/), page.click("#undo-import")]);
  assert.equal(await page.textContent("#import-notice"), "导入已撤销。");
  assert.equal(await page.textContent("#import-status"), "已撤销");
});
