import { useEffect, useRef } from 'react';
import { CategoryScale, Chart, Decimation, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { JobProgress } from '../../../shared/contract/training';
import { cssVar, onThemeChange } from '../theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip, Decimation);

interface Point {
  x: number;
  y: number;
}

// The theme's colours (styles.css), read when the chart is made and again when the theme changes.
const colours = () => ({ train: cssVar('--accent') || '#4ea1ff', validation: cssVar('--warn') || '#e0c050', grid: cssVar('--border') || '#263241', ticks: cssVar('--muted') || '#8b98a5', text: cssVar('--text') || '#e6edf3' });

/** The steps where a new validation loss appeared (a step's figure is the latest so far). */
function validationPoint(previous: JobProgress | undefined, step: JobProgress): Point | undefined {
  if (step.validationLoss === null || !Number.isFinite(step.validationLoss)) return undefined;
  if (previous && previous.validationLoss === step.validationLoss) return undefined;
  return { x: step.step, y: step.validationLoss };
}

/**
 * The loss curve of one job: train loss per step (a line) and validation loss where it was measured (points).
 * The chart is made once; new steps are appended to its data in place and drawn at most once a frame. The
 * container carries the drawn counts (`data-points`, `data-validation-points`) for tests and tools.
 */
export function LossChart({ history, totalSteps, label = 'Loss curve' }: { history: readonly JobProgress[]; totalSteps: number | undefined; label?: string }) {
  const container = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'line', Point[]> | undefined>(undefined);
  // What the chart holds: the history it was built from, so a longer one only appends.
  const shown = useRef<{ source: readonly JobProgress[]; train: Point[]; validation: Point[] }>({ source: [], train: [], validation: [] });
  const frame = useRef<number | undefined>(undefined);
  const validationRadius = useRef(3);
  const latest = useRef({ history, totalSteps });
  latest.current = { history, totalSteps };

  useEffect(() => {
    const { train: TRAIN_COLOUR, validation: VALIDATION_COLOUR, grid: GRID, ticks: TICKS, text: TEXT } = colours();
    const made = new Chart<'line', Point[]>(canvas.current!, {
      type: 'line',
      data: {
        datasets: [
          { label: 'Train loss', data: [], borderColor: TRAIN_COLOUR, backgroundColor: TRAIN_COLOUR, borderWidth: 1.5, pointRadius: 0, pointHitRadius: 4, tension: 0 },
          { label: 'Validation loss', data: [], borderColor: VALIDATION_COLOUR, backgroundColor: VALIDATION_COLOUR, borderWidth: 2, pointRadius: () => validationRadius.current, pointHoverRadius: 5, pointHitRadius: 4, showLine: true },
        ],
      },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', min: 0, title: { display: true, text: 'step', color: TICKS }, ticks: { color: TICKS, precision: 0 }, grid: { color: GRID } },
          y: { type: 'linear', title: { display: true, text: 'loss', color: TICKS }, ticks: { color: TICKS }, grid: { color: GRID } },
        },
        plugins: {
          legend: { labels: { color: TEXT, boxWidth: 12 } },
          tooltip: { callbacks: { title: (items) => (items[0] ? `step ${items[0].parsed.x}` : '') } },
          // Long runs: draw a sample of the steps, never thousands of segments per frame.
          decimation: { enabled: true, algorithm: 'lttb', samples: 600, threshold: 1200 },
        },
      },
    });
    chart.current = made;
    shown.current = { source: [], train: [], validation: [] };
    draw();
    const stopFollowingTheme = onThemeChange(() => {
      const c = colours();
      const [train, validation] = made.data.datasets;
      Object.assign(train!, { borderColor: c.train, backgroundColor: c.train });
      Object.assign(validation!, { borderColor: c.validation, backgroundColor: c.validation });
      for (const axis of [made.options.scales!.x!, made.options.scales!.y!]) {
        axis.ticks!.color = c.ticks;
        axis.grid!.color = c.grid;
        (axis as { title: { color: string } }).title.color = c.ticks;
      }
      made.options.plugins!.legend!.labels!.color = c.text;
      made.update('none');
    });
    return () => {
      stopFollowingTheme();
      if (frame.current !== undefined) cancelAnimationFrame(frame.current);
      frame.current = undefined;
      made.destroy();
      chart.current = undefined;
    };
    // draw reads the latest props through refs; the chart is made once per mount.
  }, []);

  useEffect(() => {
    if (frame.current === undefined) frame.current = requestAnimationFrame(draw);
  }, [history, totalSteps]);

  function draw(): void {
    frame.current = undefined;
    const made = chart.current;
    if (!made) return;
    const { history: source, totalSteps: total } = latest.current;
    const was = shown.current;
    // The same run, further on: append the new steps. Anything else (another job, a resume): rebuild.
    const extends_ = was.source.length > 0 && source.length >= was.source.length && source[0] === was.source[0] && source[was.source.length - 1] === was.source.at(-1);
    const from = extends_ ? was.source.length : 0;
    const train = extends_ ? was.train : [];
    const validation = extends_ ? was.validation : [];
    for (let i = from; i < source.length; i++) {
      const step = source[i]!;
      if (Number.isFinite(step.trainLoss)) train.push({ x: step.step, y: step.trainLoss });
      const point = validationPoint(source[i - 1], step);
      if (point) validation.push(point);
    }
    shown.current = { source, train, validation };
    // Assigned every time: with decimation on, the dataset's `data` is a view the plugin replaces.
    made.data.datasets[0]!.data = train;
    made.data.datasets[1]!.data = validation;
    // A validation every few steps makes a band of dots: past a few dozen, the line alone (read by the scriptable option).
    validationRadius.current = validation.length > 80 ? 0 : validation.length > 30 ? 1.5 : 3;
    const x = made.options.scales!.x!;
    x.max = total && total > 0 ? total : undefined;
    made.update('none');
    const el = container.current;
    if (el) {
      el.dataset.points = String(train.length);
      el.dataset.validationPoints = String(validation.length);
    }
    const lastLoss = train.at(-1)?.y;
    canvas.current?.setAttribute(
      'aria-label',
      train.length === 0 ? `${label}: no steps yet` : `${label}: ${train.length} steps, latest train loss ${lastLoss?.toFixed(4)}${validation.length ? `, latest validation loss ${validation.at(-1)!.y.toFixed(4)}` : ''}`,
    );
  }

  return (
    <div className="loss-chart" ref={container} data-testid="loss-chart" data-points="0" data-validation-points="0">
      <canvas ref={canvas} role="img" aria-label={`${label}: no steps yet`} />
      {history.length === 0 && <p className="loss-chart-empty muted">The curve appears with the first step.</p>}
    </div>
  );
}
