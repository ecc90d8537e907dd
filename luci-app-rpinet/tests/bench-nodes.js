// Benchmark (not a test): the Nodes page (the grid over `config node`) with a 200- and a
// 1,000-node cluster in headless Chromium against the stand-in router. Prints, per size, the
// median of RUNS loads: time to a rendered page, the page's DOM element count and height, and
// how many node rows it draws. Numbers depend on the machine.
//
//   bench/luci.sh [RUNS]
'use strict';
/* global document */ // used inside page.evaluate callbacks, which run in the page

const { chromium } = require('playwright-core');
const { createServer } = require('./server');

const RUNS = +(process.argv[2] || 5);
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(ctx, opts) {
  const load = [], dom = [], height = [], rows = [];
  for (let i = 0; i < RUNS; i++) {
    const srv = createServer(opts);
    const base = await srv.listen();
    const page = await ctx.newPage();
    const t0 = Date.now();
    await page.goto(`${base}/cgi-bin/luci/admin/services/rpinet/nodes`);
    await page.waitForSelector('body[data-view-ready] tr[data-sid]', { timeout: 60000 });
    load.push(Date.now() - t0);
    dom.push(await page.evaluate(() => document.getElementsByTagName('*').length));
    height.push(await page.evaluate(() => document.documentElement.scrollHeight));
    rows.push(await page.evaluate(() => document.querySelectorAll('tr[data-sid]').length));
    await page.close();
    await srv.close();
  }
  return { load: median(load), dom: median(dom), height: median(height), rows: median(rows) };
}

(async () => {
  const ctx = await chromium.launchPersistentContext('', {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'], viewport: { width: 1280, height: 900 },
  });
  const rows = [];
  for (const n of [200, 1000])
    rows.push([`${n} nodes`, await measure(ctx, { nodes: n })]);
  await ctx.close();
  console.log(`Nodes, median of ${RUNS} loads`);
  console.log('case                               load ms  DOM elements  height px  rows drawn');
  for (const [name, r] of rows)
    console.log(`${name.padEnd(35)}${String(r.load).padStart(7)}${String(r.dom).padStart(14)}${String(r.height).padStart(11)}${String(r.rows).padStart(12)}`);
})();
