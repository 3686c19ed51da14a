package io.hyprstream.testing;

import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A root allocator per test, closed after it, so a buffer the test or the code under it leaked
 * fails the test ("Memory was leaked"). Registered as a field, it is the test's allocator:
 * {@code @RegisterExtension final TestAllocator allocator = new TestAllocator();}. JUnit makes a
 * test instance per test method, so each test gets a fresh one.
 */
public final class TestAllocator extends RootAllocator implements AfterEachCallback {
  @Override
  public void afterEach(ExtensionContext context) {
    close();
  }
}
