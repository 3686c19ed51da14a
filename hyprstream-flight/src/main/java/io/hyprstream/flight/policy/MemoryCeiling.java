package io.hyprstream.flight.policy;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/**
 * The server's memory bounds when none is configured, derived from the JVM the server runs in.
 * Arrow buffers (request and result batches) live in the JVM's direct memory, which gRPC's own
 * buffers share: past that bound the JVM throws {@link OutOfMemoryError} in whichever thread
 * allocates, so the server's Arrow allocator stops well before it and refuses the one request that
 * asks for too much.
 */
final class MemoryCeiling {
  private MemoryCeiling() {}

  /** The JVM's bound on direct memory: {@code -XX:MaxDirectMemorySize}, else the heap's maximum. */
  static long jvmDirectMemoryBytes() {
    HotSpotDiagnosticMXBean hotspot =
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    if (hotspot != null) {
      try {
        long configured = Long.parseLong(hotspot.getVMOption("MaxDirectMemorySize").getValue());
        if (configured > 0) {
          return configured;
        }
      } catch (IllegalArgumentException e) {
        // Not a HotSpot option here: the JDK's default below.
      }
    }
    return Runtime.getRuntime().maxMemory();
  }

  /** Half the JVM's direct memory: the other half stays for gRPC's buffers of calls in flight. */
  static long defaultArrowBytes() {
    return jvmDirectMemoryBytes() / 2;
  }
}
