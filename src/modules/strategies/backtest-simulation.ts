/**
 * The backtest simulation: a moving-average crossover run over a synthetic
 * daily price series. Pure and deterministic — the series is a function of the
 * asset name and the day alone, so the same asset and dates always give the
 * same prices wherever a range starts, and the same backtest the same result.
 */

const DAY_MS = 86_400_000;

/** Day 0 of every series. Prices exist from here; backtests start later so that the slowest average has its history. */
const SERIES_EPOCH_MS = Date.UTC(1960, 0, 1);
/** The dates a backtest may cover. */
export const EARLIEST_BACKTEST_DATE = new Date(Date.UTC(1970, 0, 1));
export const LATEST_BACKTEST_DATE = new Date(Date.UTC(2100, 0, 1));

export const MIN_WINDOW = 2;
export const MAX_WINDOW = 500;

/** What a backtest starts with, in the asset's quote currency. */
export const INITIAL_EQUITY = 10_000;

export interface BacktestSpec {
  asset: string;
  /** Moving-average windows in days: MIN_WINDOW ≤ fast < slow ≤ MAX_WINDOW. */
  fastWindow: number;
  slowWindow: number;
  from: Date;
  to: Date;
}

export interface BacktestOutcome {
  /** Positions opened (one still open at `to` counts). */
  trades: number;
  /** Final equity against INITIAL_EQUITY, in percent (4 decimals). */
  returnPct: number;
  /** The largest fall of equity from a previous peak, in percent (4 decimals, ≥ 0). */
  maxDrawdownPct: number;
  /** Cash plus the open position at the close of `to` (2 decimals). */
  finalEquity: number;
}

/** The series' day number of the UTC day that holds `date`. */
export const seriesDay = (date: Date) => Math.floor((date.getTime() - SERIES_EPOCH_MS) / DAY_MS);

/** FNV-1a of the asset name: the seed of its series. */
function assetSeed(asset: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < asset.length; i++) hash = Math.imul(hash ^ asset.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** A well-mixed 32-bit value of (seed, n) (the finaliser of MurmurHash3), as a number in (0, 1). */
function uniform(seed: number, n: number): number {
  let h = (seed ^ Math.imul(n, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) + 0.5) / 4_294_967_296;
}

/**
 * The close of every day from `firstDay` to `lastDay` (series days, inclusive).
 * The log price is a mean-reverting walk around the asset's base price, walked
 * from day 0, so a day's price never depends on the range asked for.
 */
export function dailyPrices(asset: string, firstDay: number, lastDay: number): Float64Array {
  if (!(firstDay >= 0 && firstDay <= lastDay && lastDay <= seriesDay(LATEST_BACKTEST_DATE))) {
    throw new RangeError(`No prices for days ${firstDay}..${lastDay} of ${asset}.`);
  }
  const seed = assetSeed(asset);
  const basePrice = 10 + uniform(seed, -1) * 990;
  const volatility = 0.01 + uniform(seed, -2) * 0.02;
  // Half of a deviation from the base price is gone after about four years.
  const reversion = 0.9995;
  const prices = new Float64Array(lastDay - firstDay + 1);
  let deviation = 0;
  for (let day = 0; day <= lastDay; day++) {
    // Box–Muller: a standard normal from two uniforms of the day.
    const normal = Math.sqrt(-2 * Math.log(uniform(seed, 2 * day))) * Math.cos(2 * Math.PI * uniform(seed, 2 * day + 1));
    deviation = reversion * deviation + volatility * normal;
    if (day >= firstDay) prices[day - firstDay] = basePrice * Math.exp(deviation);
  }
  return prices;
}

const round = (value: number, decimals: number) => {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
};

/**
 * Runs the crossover on the closes from `from`'s day to `to`'s: long with all
 * the equity while the fast average is above the slow one, flat otherwise,
 * trading at the close of the day the signal changes, without costs. The
 * averages of the first day use the days before it.
 */
export function simulateBacktest(spec: BacktestSpec): BacktestOutcome {
  const { fastWindow: fast, slowWindow: slow } = spec;
  if (!(Number.isInteger(fast) && Number.isInteger(slow) && MIN_WINDOW <= fast && fast < slow && slow <= MAX_WINDOW)) {
    throw new RangeError(`Invalid moving-average windows ${fast}/${slow}.`);
  }
  const firstDay = seriesDay(spec.from);
  return crossover(dailyPrices(spec.asset, firstDay - (slow - 1), seriesDay(spec.to)), fast, slow);
}

/**
 * The crossover over `closes`, whose first `slow - 1` are history (they feed
 * the averages; nothing is traded on them).
 */
export function crossover(closes: ArrayLike<number>, fast: number, slow: number): BacktestOutcome {
  let fastSum = 0;
  let slowSum = 0;
  let cash = INITIAL_EQUITY;
  let units = 0;
  let trades = 0;
  let peak = INITIAL_EQUITY;
  let maxDrawdown = 0;
  let equity = INITIAL_EQUITY;
  for (let i = 0; i < closes.length; i++) {
    const price = closes[i]!;
    fastSum += price;
    slowSum += price;
    if (i >= fast) fastSum -= closes[i - fast]!;
    if (i >= slow) slowSum -= closes[i - slow]!;
    // The history: both averages are whole from here on.
    if (i < slow - 1) continue;
    const long = fastSum / fast > slowSum / slow;
    if (long && units === 0) {
      units = cash / price;
      cash = 0;
      trades++;
    } else if (!long && units > 0) {
      cash = units * price;
      units = 0;
    }
    equity = cash + units * price;
    if (equity > peak) peak = equity;
    else maxDrawdown = Math.max(maxDrawdown, (peak - equity) / peak);
  }
  return {
    trades,
    returnPct: round((equity / INITIAL_EQUITY - 1) * 100, 4),
    maxDrawdownPct: round(maxDrawdown * 100, 4),
    finalEquity: round(equity, 2),
  };
}
