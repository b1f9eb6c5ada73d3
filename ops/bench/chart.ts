/** A small SVG of the bench's figures: throughputs as bars (ours beside Kafka's tools), then times. */

export interface ChartBar {
  readonly label: string;
  readonly value: number;
  /** "ours", "reference" (Kafka's tools, the tutorials' method) or "time". */
  readonly kind: "ours" | "reference" | "time";
  readonly unit: string;
}

const COLORS = { ours: "#26a69a", reference: "#8b96a3", time: "#f0b429" } as const;

function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Two panels: rates (one scale) and times (another). */
export function benchChartSvg(title: string, rates: readonly ChartBar[], times: readonly ChartBar[]): string {
  const width = 760;
  const labelWidth = 300;
  const barHeight = 20;
  const gap = 8;
  const lines: string[] = [];
  let y = 52;
  const panel = (heading: string, bars: readonly ChartBar[]) => {
    lines.push(`<text x="10" y="${y}" font-weight="600" fill="#d8dee6">${escape(heading)}</text>`);
    y += 12;
    const max = Math.max(1, ...bars.map((bar) => bar.value));
    for (const bar of bars) {
      const length = Math.max(1, Math.round(((width - labelWidth - 130) * bar.value) / max));
      lines.push(
        `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end" fill="#d8dee6">${escape(bar.label)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${length}" height="${barHeight}" rx="3" fill="${COLORS[bar.kind]}"/>`,
        `<text x="${labelWidth + length + 6}" y="${y + 15}" fill="#d8dee6">${escape(
          `${Math.round(bar.value).toLocaleString("en-US")} ${bar.unit}`,
        )}</text>`,
      );
      y += barHeight + gap;
    }
    y += 18;
  };
  panel("rates (higher is better; grey: Kafka's own tools and the tutorials' method)", rates);
  panel("times (lower is better)", times);
  const height = y;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#0f1419"/>`,
    `<text x="10" y="22" font-size="15" font-weight="700" fill="#d8dee6">${escape(title)}</text>`,
    ...lines,
    `</svg>`,
    "",
  ].join("\n");
}
