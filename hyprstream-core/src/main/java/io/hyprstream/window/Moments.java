package io.hyprstream.window;

/**
 * The running statistics of one value column in one window, as 8 adjacent doubles of an array (one
 * cache line): value count, sum, min, max, the sum of x (seconds since the window start) and the
 * co-moments M2 (of value), Cxx and Cxy. From these come count, sum, avg, min, max, sample stddev
 * and the least-squares slope and intercept; all of them merge, which is what lets a batch be
 * summed per pane first ({@link BatchPanes}) and each pane merged into its larger windows once.
 *
 * <p>{@link WindowState} keeps its slots in this layout and {@link BatchPanes} its panes, so both
 * update through the same two functions.
 */
final class Moments {
  /** Doubles per (window, value column). */
  static final int STRIDE = 8;

  static final int N = 0;
  static final int SUM = 1;
  static final int MIN = 2;
  static final int MAX = 3;
  static final int SUM_X = 4;
  static final int M2 = 5;
  static final int CXX = 6;
  static final int CXY = 7;

  private Moments() {}

  /** Sets the 8 doubles at {@code i} to the state of no value. */
  static void clear(double[] st, int i) {
    st[i + N] = 0;
    st[i + SUM] = 0;
    // Ordered as DuckDB orders doubles (Double.compare: NaN above +Inf), so a window's min is NaN
    // only when all its values are, and its max is NaN as soon as one is.
    st[i + MIN] = Double.NaN;
    st[i + MAX] = Double.NEGATIVE_INFINITY;
    st[i + SUM_X] = 0;
    st[i + M2] = 0;
    st[i + CXX] = 0;
    st[i + CXY] = 0;
  }

  /**
   * Adds value {@code y} observed {@code x} seconds after the window start: Welford/Chan updates of
   * the co-moments, with the means taken from exact running sums.
   */
  static void add(double[] st, int i, double x, double y) {
    double k = st[i + N] + 1;
    st[i + N] = k;
    double sOld = st[i + SUM];
    double sNew = sOld + y;
    st[i + SUM] = sNew;
    double sxOld = st[i + SUM_X];
    double sxNew = sxOld + x;
    st[i + SUM_X] = sxNew;
    if (Double.compare(y, st[i + MIN]) < 0) {
      st[i + MIN] = y;
    }
    if (Double.compare(y, st[i + MAX]) > 0) {
      st[i + MAX] = y;
    }
    if (k > 1) {
      double inv = 1.0 / k;
      double invOld = 1.0 / (k - 1);
      double meanYNew = sNew * inv;
      double dx = x - sxOld * invOld;
      st[i + M2] += (y - sOld * invOld) * (y - meanYNew);
      st[i + CXX] += dx * (x - sxNew * inv);
      st[i + CXY] += dx * (y - meanYNew);
    }
  }

  /**
   * Merges the state at {@code src[s]} into {@code dst[d]} (Chan, Golub and LeVeque's pairwise
   * combination). The source's x is measured from a start {@code xShift} seconds after the
   * destination's: shifting x moves its sum, not its co-moments. A one-value source is added as
   * that value, exactly as {@link #add} would have.
   */
  static void merge(double[] dst, int d, double[] src, int s, double xShift) {
    double nB = src[s + N];
    if (nB == 0) {
      return;
    }
    if (nB == 1) {
      add(dst, d, src[s + SUM_X] + xShift, src[s + SUM]);
      return;
    }
    double nA = dst[d + N];
    double sB = src[s + SUM];
    double sxB = src[s + SUM_X] + nB * xShift;
    if (Double.compare(src[s + MIN], dst[d + MIN]) < 0) {
      dst[d + MIN] = src[s + MIN];
    }
    if (Double.compare(src[s + MAX], dst[d + MAX]) > 0) {
      dst[d + MAX] = src[s + MAX];
    }
    if (nA == 0) {
      dst[d + N] = nB;
      dst[d + SUM] = sB;
      dst[d + SUM_X] = sxB;
      dst[d + M2] = src[s + M2];
      dst[d + CXX] = src[s + CXX];
      dst[d + CXY] = src[s + CXY];
      return;
    }
    double sA = dst[d + SUM];
    double sxA = dst[d + SUM_X];
    double n = nA + nB;
    double dy = sB / nB - sA / nA;
    double dx = sxB / nB - sxA / nA;
    double weight = nA * nB / n;
    dst[d + N] = n;
    dst[d + SUM] = sA + sB;
    dst[d + SUM_X] = sxA + sxB;
    dst[d + M2] += src[s + M2] + dy * dy * weight;
    dst[d + CXX] += src[s + CXX] + dx * dx * weight;
    dst[d + CXY] += src[s + CXY] + dx * dy * weight;
  }
}
