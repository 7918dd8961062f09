// Draws the send page's charts from the JSON the server put in the page (no request of its own).
// Humans solid, machines hatched and stacked on top, so the chart reads without colour.
import uPlot from 'uplot';

type Point = [startMs: number, granularity: string, humanOpens: number, machineOpens: number, humanClicks: number, machineClicks: number];

function hatch(): CanvasPattern | string {
  const tile = document.createElement('canvas');
  tile.width = tile.height = 8;
  const ctx = tile.getContext('2d');
  if (!ctx) return '#999';
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, 8, 8);
  ctx.strokeStyle = '#555';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(0, 8);
  ctx.lineTo(8, 0);
  ctx.stroke();
  return ctx.createPattern(tile, 'repeat') ?? '#999';
}

/** The time axis: the buckets with a margin; a single bucket gets some minutes either side. */
function xRange(xs: number[]): [number, number] {
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  if (xs.length === 0) return [0, 1];
  const pad = max === min ? 900 : (max - min) * 0.03;
  return [min - pad, max + pad];
}

function draw(el: HTMLElement, points: Point[], human: 2 | 4, machine: 3 | 5): void {
  const xs = points.map((p) => p[0] / 1000);
  const humans = points.map((p) => p[human]);
  const total = points.map((p) => p[human] + p[machine]);
  const width = Math.max(280, el.clientWidth);
  const bars = uPlot.paths.bars!({ size: [0.9, 24, 1] });
  const opts: uPlot.Options = {
    width,
    height: 220,
    scales: {
      // One bucket alone would get a range of years: give it some minutes either side instead.
      x: { time: true, auto: false, range: xRange(xs) },
      y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
    },
    series: [
      { label: 'time' },
      { label: 'humans + machines', stroke: '#333', width: 1, fill: () => hatch(), paths: bars, points: { show: false } },
      { label: 'humans', stroke: '#000', width: 1, fill: '#1f4e9a', paths: bars, points: { show: false } },
    ],
    axes: [{}, { size: 50 }],
    legend: { live: true },
  };
  el.textContent = '';
  el.dataset.rendered = String(points.length);
  new uPlot(opts, [xs, total, humans], el);
}

function start(): void {
  const data = document.getElementById('series-data');
  if (!data?.textContent) return;
  const points = JSON.parse(data.textContent) as Point[];
  for (const el of document.querySelectorAll<HTMLElement>('.chart[data-chart]')) {
    if (el.dataset.chart === 'opens') draw(el, points, 2, 3);
    else draw(el, points, 4, 5);
  }
  document.documentElement.dataset.chartsReady = 'true';
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
