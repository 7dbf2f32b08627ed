#!/usr/bin/env python3
"""plot.py: draws the markdown table perf/compare.sh prints as an SVG chart, one bar per
row: how many times better (green, right) or worse (red, left) zinc is than libzmq, on
a log scale, grouped by transport. Python's standard library only, so it runs wherever
compare.sh does.

usage: perf/compare.sh -r 3 > table.md; perf/plot.py table.md > chart.svg
       (or perf/plot.py < table.md > chart.svg); --title TEXT sets the heading."""
import argparse
import html
import math
import sys

ROW_H = 16          # pixels per bar
LABEL_W = 250       # the row labels' column
BAR_W = 520         # the bars' column; its middle is ratio 1
RATIO_MAX = 8.0     # the scale ends at 1/8 and 8; longer bars are clipped (with an arrow)
MARGIN = 10


def rows(lines):
    """(transport, test, size, libzmq, zinc, ratio) for each data row of the table."""
    out = []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or cells[0] in ("transport", "") or cells[0].startswith("-"):
            continue
        try:
            ratio = float(cells[5])
        except ValueError:
            ratio = None  # "n/a": the run failed; shown as a gap
        out.append((cells[0], cells[1], cells[2], cells[3], cells[4], ratio))
    return out


def x_of(ratio):
    """The x of a ratio on the log scale, clipped to the ends."""
    r = min(max(ratio, 1 / RATIO_MAX), RATIO_MAX)
    half = BAR_W / 2
    return LABEL_W + half + half * math.log(r) / math.log(RATIO_MAX)


def text(x, y, s, anchor="start", size=11, weight="normal", fill="#222"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" '
            f'text-anchor="{anchor}" fill="{fill}">{html.escape(s)}</text>')


def chart(data, title):
    groups = []
    for r in data:
        if not groups or groups[-1][0] != r[0]:
            groups.append((r[0], []))
        groups[-1][1].append(r)
    height = MARGIN * 2 + 60 + sum(ROW_H * (len(g[1]) + 1.5) for g in groups) + 30
    width = LABEL_W + BAR_W + 90
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height:.0f}" font-family="sans-serif">',
           f'<rect width="{width}" height="{height:.0f}" fill="white"/>',
           text(MARGIN, MARGIN + 14, title, size=14, weight="bold"),
           text(MARGIN, MARGIN + 32, "zinc against libzmq: right of the line zinc is "
                "faster (throughput zinc/libzmq, latency libzmq/zinc), log scale",
                size=11, fill="#555")]
    top = MARGIN + 50
    y = top
    for name, rs in groups:
        y += ROW_H * 0.5
        svg.append(text(MARGIN, y + 11, name, size=12, weight="bold"))
        y += ROW_H
        for _, test, size, lib, zinc, ratio in rs:
            kind = "lat" if test.startswith("latency") else "thr"
            svg.append(text(LABEL_W - 8, y + 11, f"{kind} {size}", anchor="end"))
            if ratio is None:
                svg.append(text(x_of(1) + 4, y + 11, "n/a", fill="#888"))
            else:
                x0, x1 = sorted((x_of(1), x_of(ratio)))
                colour = "#2e8b57" if ratio >= 1 else "#c0392b"
                svg.append(f'<rect x="{x0:.1f}" y="{y + 2:.1f}" width="{max(x1 - x0, 1):.1f}" '
                           f'height="{ROW_H - 4}" fill="{colour}"/>')
                clipped = ratio > RATIO_MAX or ratio < 1 / RATIO_MAX
                label = f"{ratio:.2f}" + (" >" if ratio > RATIO_MAX else "")
                if ratio >= 1 and not clipped:
                    svg.append(text(x1 + 4, y + 11, label))
                elif ratio >= 1:  # at the right end: the label goes inside the bar
                    svg.append(text(x1 - 4, y + 11, label, anchor="end", fill="white"))
                elif not clipped:
                    svg.append(text(x0 - 4, y + 11, label, anchor="end"))
                else:  # at the left end, next to the row labels: inside the bar
                    svg.append(text(x0 + 4, y + 11, "< " + label, fill="white"))
            y += ROW_H
    # The scale: ratio 1 and the powers of two either side.
    for k in range(-3, 4):
        r = 2.0 ** k
        x = x_of(r)
        svg.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{y:.1f}" '
                   f'stroke="{"#000" if k == 0 else "#ddd"}" stroke-width="1"/>')
        svg.append(text(x, y + 14, f"{r:g}x" if k >= 0 else f"1/{2 ** -k}x",
                        anchor="middle", size=10, fill="#555"))
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", nargs="?", help="compare.sh's output (default: stdin)")
    ap.add_argument("--title", default="perf/compare.sh")
    args = ap.parse_args()
    src = open(args.table, encoding="utf-8") if args.table else sys.stdin
    data = rows(src)
    if not data:
        sys.exit("plot.py: no table rows found")
    sys.stdout.write(chart(data, args.title))


if __name__ == "__main__":
    main()
