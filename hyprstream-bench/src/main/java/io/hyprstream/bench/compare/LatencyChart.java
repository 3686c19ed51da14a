package io.hyprstream.bench.compare;

import io.hyprstream.bench.Stats;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** A PNG of the W2 and W4 latency distributions: latency by percentile, one line per column. */
final class LatencyChart {
  private LatencyChart() {}

  static void write(List<Column> columns, Path file) throws IOException {
    System.setProperty("java.awt.headless", "true");
    XYChart w2 = chart("W2: last 24 hourly windows of one metric", columns, c -> c.w2);
    XYChart w4 = chart("W4: ingest 100 rows until their window shows them", columns, c -> c.w4);
    BitmapEncoder.saveBitmap(
        List.of(w2, w4), 1, 2, file.toString(), BitmapEncoder.BitmapFormat.PNG);
  }

  private static XYChart chart(
      String title, List<Column> columns, Function<Column, @Nullable Stats> stats) {
    XYChart chart =
        new XYChartBuilder()
            .width(760)
            .height(520)
            .title(title)
            .xAxisTitle("percentile")
            .yAxisTitle("latency, ms (log scale)")
            .build();
    chart.getStyler().setYAxisLogarithmic(true);
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
    chart.getStyler().setXAxisMin(0.0);
    chart.getStyler().setXAxisMax(100.0);
    for (Column c : columns) {
      Stats s = c.ran() ? stats.apply(c) : null;
      if (s == null || s.count() == 0) {
        continue;
      }
      long[] sorted = s.sorted();
      int points = Math.min(sorted.length, 500);
      double[] x = new double[points];
      double[] y = new double[points];
      for (int i = 0; i < points; i++) {
        double p = 100.0 * i / Math.max(1, points - 1);
        x[i] = p;
        y[i] = Math.max(1e-3, s.percentile(Math.max(p, 0.001)) / 1e6);
      }
      XYSeries series = chart.addSeries(c.label, x, y);
      series.setMarker(SeriesMarkers.NONE);
    }
    return chart;
  }
}
