// Writes the results: a Markdown table per scenario and a small hand-written SVG bar chart (a
// charting library would be a heavy dependency for a dozen rectangles).

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cell = (s) => String(s).replace(/\|/g, '\\|');

/** Markdown for one run: `results` is `[{ id, title, setup, columns, rows, seconds }]`. */
export function markdown({ results, started, quick, machine, chartFile }) {
  const out = [
    `# Benchmark results`,
    '',
    `Run ${started.toISOString().replace(/\.\d+Z$/, 'Z')}${quick ? ' (**--quick smoke run: too short to quote**)' : ''} · ${machine}.`,
    'Every scenario runs its candidates in one process against one `@dsql/local`, alternating over',
    'rounds; figures are medians, ratios the median of per-round ratios. See README.md for how to read them.',
    '',
  ];
  if (chartFile) out.push(`![steady SELECT throughput](${chartFile})`, '');
  for (const r of results) {
    out.push(`## ${r.title} (\`${r.id}\`)`, '', r.error ? `**Failed:** ${r.error}` : r.setup, '');
    if (r.error) continue;
    out.push(`| ${r.columns.map(cell).join(' | ')} |`, `|${r.columns.map(() => '---').join('|')}|`);
    for (const row of r.rows) out.push(`| ${row.map(cell).join(' | ')} |`);
    out.push('', `_${r.seconds.toFixed(0)} s_`, '');
  }
  return `${out.join('\n')}\n`;
}

/** A horizontal bar chart of `bars` (`{ label, value, note }`), one bar per line. */
export function barChart({ title, unit, bars }) {
  const width = 640;
  const left = 150;
  const right = 150;
  const barH = 22;
  const gap = 8;
  const top = 40;
  const height = top + bars.length * (barH + gap) + 30;
  const max = Math.max(...bars.map((b) => b.value), 1);
  const scale = (width - left - right) / max;
  const colours = { pg: '#336791', postgres: '#4d8b31' };
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
  ];
  bars.forEach((b, i) => {
    const y = top + i * (barH + gap);
    const w = Math.max(1, b.value * scale);
    parts.push(
      `<text x="${left - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colours[b.family] ?? '#888'}"/>`,
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + barH / 2 + 4}">${esc(`${Math.round(b.value).toLocaleString('en-US')} ${unit}${b.note ? ` · ${b.note}` : ''}`)}</text>`,
    );
  });
  parts.push(`<text x="${left}" y="${height - 8}" fill="#555" font-size="11">${esc('median of rounds; ratio = median of per-round ratios against the plain driver')}</text>`, '</svg>');
  return `${parts.join('\n')}\n`;
}
