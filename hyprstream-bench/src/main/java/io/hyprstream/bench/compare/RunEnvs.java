package io.hyprstream.bench.compare;

import io.hyprstream.bench.RunEnv;

/** Versions of the peers' client libraries, read from the class path. */
final class RunEnvs {
  private RunEnvs() {}

  static String questdb() {
    String v = RunEnv.version("org.questdb", "questdb");
    if (!"?".equals(v)) {
      return v;
    }
    String manifest = io.questdb.ServerMain.class.getPackage().getImplementationVersion();
    return manifest == null ? "?" : manifest;
  }
}
