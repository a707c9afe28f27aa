// A uPlot time series chart that follows its container's width and takes new data without being rebuilt.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
}

const palette = ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#65a30d', '#db2777', '#854d0e'];
export const colorAt = (i: number) => palette[i % palette.length]!;

export function TimeChart({
  title,
  t,
  series,
  unit,
  height = 220,
}: {
  title: string;
  t: number[];
  series: ChartSeries[];
  unit: string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot>(null);
  const shape = series.map((s) => s.label).join('|');

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const plot = new uPlot(
      {
        title,
        width: element.clientWidth || 600,
        height,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
        axes: [{}, { label: unit, size: 60 }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false }))],
      },
      [t, ...series.map((s) => s.values)] as uPlot.AlignedData,
      element,
    );
    chart.current = plot;
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = null;
    };
    // Rebuilt only when the set of series changes; data updates go through setData below.
  }, [shape, title, unit, height]);

  useEffect(() => {
    chart.current?.setData([t, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [t, series]);

  return <div ref={box} className="chart" />;
}
