// Benchmark (not a test): the Overview page with a 1,000-node cluster in headless Chromium
// against the stand-in router. (a) a status that pages (contract 1): the page asks for 50
// nodes; (b) today's status: every node in one reply, every card drawn. Prints, per case,
// the median of RUNS loads: time to a rendered page, one 5-second refresh, the page's DOM
// element count and the status reply's size. Numbers depend on the machine.
//
//   bench/luci.sh [RUNS]
'use strict';
/* global document */ // used inside page.evaluate callbacks, which run in the page

const { chromium } = require('playwright-core');
const { createServer } = require('./server');

const RUNS = +(process.argv[2] || 5);
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(ctx, opts) {
  const load = [], refresh = [], dom = [], bytes = [];
  for (let i = 0; i < RUNS; i++) {
    const srv = createServer(Object.assign({ nodes: 1000 }, opts));
    const base = await srv.listen();
    const page = await ctx.newPage();
    const t0 = Date.now();
    await page.goto(`${base}/cgi-bin/luci/admin/services/rpinet/overview`);
    await page.waitForSelector('body[data-view-ready]', { timeout: 60000 });
    load.push(Date.now() - t0);
    // one refresh, as the 5-second poll does it (the filter's change handler runs refresh())
    const t1 = Date.now();
    await page.evaluate(() => document.querySelector('#rpinet-filter').dispatchEvent(new Event('change')));
    await page.waitForFunction(() => !document.querySelector('#rpinet-filter').disabled);
    refresh.push(Date.now() - t1);
    dom.push(await page.evaluate(() => document.getElementsByTagName('*').length));
    const last = srv.calls.filter((c) => c.method === 'status').at(-1);
    bytes.push(JSON.stringify(last.result).length);
    await page.close();
    await srv.close();
  }
  return { load: median(load), refresh: median(refresh), dom: median(dom), bytes: median(bytes) };
}

(async () => {
  const ctx = await chromium.launchPersistentContext('', {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'], viewport: { width: 1280, height: 900 },
  });
  const rows = [
    ['(a) paged status, 50 of 1000 nodes', await measure(ctx, {})],
    ['(b) every node (today\'s status)', await measure(ctx, { oldStatus: true })],
  ];
  await ctx.close();
  console.log(`overview with 1000 nodes, median of ${RUNS} loads`);
  console.log('case                                  load ms  refresh ms  DOM elements  status reply bytes');
  for (const [name, r] of rows)
    console.log(`${name.padEnd(38)}${String(r.load).padStart(7)}${String(r.refresh).padStart(12)}${String(r.dom).padStart(14)}${String(r.bytes).padStart(20)}`);
})();
