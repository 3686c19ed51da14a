package io.hyprstream.layering;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layering of the three main modules, checked on their compiled classes (docs/architecture.md
 * draws it). A change that breaks a rule fails {@code mvn verify} with the offending dependency.
 */
class LayeringTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.hyprstream");
  }

  /** No two packages depend on each other, directly or around a loop, in any module. */
  @Test
  void packagesAreFreeOfCycles() {
    slices().matching("io.hyprstream.(**)").should().beFreeOfCycles().check(classes);
  }

  /** The API is what engines and transports implement and use: it knows neither. */
  @Test
  void apiKnowsNoEngineAndNoTransport() {
    noClasses()
        .that()
        .resideInAPackage("io.hyprstream.api..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.hyprstream",
            "io.hyprstream.internal..",
            "io.hyprstream.duckdb..",
            "io.hyprstream.backend..",
            "io.hyprstream.window..",
            "io.hyprstream.flight..",
            "org.duckdb..",
            "org.apache.arrow.flight..")
        .check(classes);
  }

  /**
   * The server uses core's public API only: what it needs of an instance beyond SQL comes through
   * {@code Hyprstream.operations()}, never a downcast to the engine.
   */
  @Test
  void flightUsesNoEngineInternals() {
    noClasses()
        .that()
        .resideInAPackage("io.hyprstream.flight..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.hyprstream.internal..")
        .check(classes);
  }

  /**
   * The engine runs on the SPIs: nothing under {@code io.hyprstream.internal} names the default
   * cache store or window aggregator. Only {@code HyprstreamBuilder}, which builds the defaults,
   * does; an embedder's {@code CacheStore} or {@code WindowAggregatorFactory} takes their place.
   */
  @Test
  void engineUsesTheSpisNotTheirDefaultImplementations() {
    noClasses()
        .that()
        .resideInAPackage("io.hyprstream.internal..")
        .should()
        .dependOnClassesThat()
        .haveNameMatching(
            "io\\.hyprstream\\.(duckdb\\.DuckDb(CacheStore|Connections)|window\\.HeapWindowAggregator)(\\$.*)?")
        .check(classes);
  }

  /**
   * The engine's parts, from the facade down: the facade ({@code Engine}) opens the stages; the
   * query chain reads through ingest's flusher (read-your-writes); retention and recovery use
   * ingest; all of them share the table model and the SQL and Arrow helpers, which use none of
   * them.
   */
  @Test
  void engineStagesAreLayered() {
    layeredArchitecture()
        .consideringOnlyDependenciesInLayers()
        .layer("Facade")
        .definedBy("io.hyprstream.internal")
        .layer("Query")
        .definedBy("io.hyprstream.internal.query..")
        .layer("Recovery")
        .definedBy("io.hyprstream.internal.recovery..")
        .layer("Retention")
        .definedBy("io.hyprstream.internal.retention..")
        .layer("Ingest")
        .definedBy("io.hyprstream.internal.ingest..")
        .layer("Tables")
        .definedBy("io.hyprstream.internal.table..")
        .layer("Helpers")
        .definedBy(
            "io.hyprstream.internal.sql..",
            "io.hyprstream.internal.arrow..",
            "io.hyprstream.internal.cache..")
        .whereLayer("Facade")
        .mayNotBeAccessedByAnyLayer()
        .whereLayer("Query")
        .mayOnlyBeAccessedByLayers("Facade")
        .whereLayer("Recovery")
        .mayOnlyBeAccessedByLayers("Facade")
        .whereLayer("Retention")
        .mayOnlyBeAccessedByLayers("Facade", "Recovery")
        .whereLayer("Ingest")
        .mayOnlyBeAccessedByLayers("Facade", "Query", "Retention", "Recovery")
        .whereLayer("Tables")
        .mayOnlyBeAccessedByLayers("Facade", "Query", "Retention", "Recovery", "Ingest")
        .check(classes);
  }
}
