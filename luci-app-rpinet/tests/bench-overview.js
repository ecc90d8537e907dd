// Benchmark (not a test): the Overview page with a 200- and a 1,000-node cluster in headless
// Chromium against the stand-in router. (a) a status that pages (docs/api.md offset/limit):
// the page asks for every node in pages of 250, together once the first said how many;
// (b) an rpinet before paging: every node in one reply. Overview draws one page of 50 rows
// either way. Prints, per case, the median of RUNS loads: time to a rendered page, one
// refresh (the 5-second poll's work: every status call and the redraw), one sort of every
// node by time to running, the page's DOM element count and height, the status calls and
// their bytes. Numbers depend on the machine.
//
//   bench/luci.sh [RUNS]
'use strict';
/* global document, L */ // used inside page.evaluate callbacks, which run in the page

const { chromium } = require('playwright-core');
const { createServer } = require('./server');

const RUNS = +(process.argv[2] || 5);
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(ctx, opts) {
  const load = [], refresh = [], sort = [], dom = [], height = [], calls = [], bytes = [];
  for (let i = 0; i < RUNS; i++) {
    const srv = createServer(opts);
    const base = await srv.listen();
    const page = await ctx.newPage();
    const t0 = Date.now();
    await page.goto(`${base}/cgi-bin/luci/admin/services/rpinet/overview`);
    await page.waitForSelector('body[data-view-ready] #rpinet-nodes', { timeout: 60000 });
    load.push(Date.now() - t0);
    const before = srv.calls.filter((c) => c.method === 'status').length;
    // one refresh, as the 5-second poll runs it
    refresh.push(await page.evaluate(() => L.require('poll').then((poll) => {
      const t = performance.now();
      return Promise.all(poll.queue.map((e) => e.fn())).then(() => Math.round(performance.now() - t));
    })));
    const status = srv.calls.filter((c) => c.method === 'status').slice(before);
    calls.push(status.length);
    bytes.push(status.reduce((n, c) => n + JSON.stringify(c.result).length, 0));
    sort.push(await page.evaluate(() => {
      const t = performance.now();
      document.querySelector('#rpinet-nodes th[data-sort="time"]').click();
      return Math.round(performance.now() - t);
    }));
    dom.push(await page.evaluate(() => document.getElementsByTagName('*').length));
    height.push(await page.evaluate(() => document.documentElement.scrollHeight));
    await page.close();
    await srv.close();
  }
  return { load: median(load), refresh: median(refresh), sort: median(sort), dom: median(dom), height: median(height), calls: median(calls), bytes: median(bytes) };
}

(async () => {
  const ctx = await chromium.launchPersistentContext('', {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'], viewport: { width: 1280, height: 900 },
  });
  const rows = [];
  for (const n of [200, 1000]) {
    rows.push([`${n} nodes, (a) paged status`, await measure(ctx, { nodes: n })]);
    rows.push([`${n} nodes, (b) every node at once`, await measure(ctx, { nodes: n, oldStatus: true })]);
  }
  await ctx.close();
  console.log(`Overview, median of ${RUNS} loads (page of 50 rows)`);
  console.log('case                               load ms  refresh ms  sort ms  DOM elements  height px  status calls  status bytes');
  for (const [name, r] of rows)
    console.log(`${name.padEnd(35)}${String(r.load).padStart(7)}${String(r.refresh).padStart(12)}${String(r.sort).padStart(9)}` +
      `${String(r.dom).padStart(14)}${String(r.height).padStart(11)}${String(r.calls).padStart(14)}${String(r.bytes).padStart(14)}`);
})();
