package io.hyprstream.internal.cluster;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.HyprstreamException;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.internal.Engine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntPredicate;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.jspecify.annotations.Nullable;

/**
 * The rows an instance still holds of partitions it no longer owns. When a rebalance moves a
 * partition away, the new owner rebuilds it from the log, but this instance keeps the keys it had
 * applied (dropping them is stage 3's work). Every read of this instance's rows, its own part of a
 * query and its answers to other instances, leaves those keys out, so no key is counted by two
 * instances.
 *
 * <p>Which keys are foreign is worked out after each rebalance, on the first read that needs it:
 * the distinct keys of each table with one key column and of its views, placed by {@link
 * KeyPartitioner}. A table without such a key cannot be split by partition: once this instance has
 * lost a partition it had applied records of, reads of such a table here fail, naming it.
 */
final class ForeignRows {
  /** What to leave out of one relation: a DuckDB condition, or the reason it cannot be done. */
  record Filter(@Nullable String keep, @Nullable String refusal) {
    static final Filter ALL = new Filter(null, null);
  }

  private final Engine engine;
  private final ClusterConfig config;
  private final PartitionOwner owner;
  private long seenRebalances = -1;
  private Map<String, Filter> byRelation = Map.of();

  ForeignRows(Engine engine, ClusterConfig config, PartitionOwner owner) {
    this.engine = engine;
    this.config = config;
    this.owner = owner;
  }

  /** The filter for this instance's rows of {@code relation} (an ingested table or a view). */
  synchronized Filter filter(String relation) {
    long rebalances = owner.rebalancesWithData();
    if (rebalances == 0) {
      return Filter.ALL; // never lost a partition it had applied: every row here is owned
    }
    if (rebalances != seenRebalances) {
      byRelation = compute();
      seenRebalances = rebalances;
    }
    return byRelation.getOrDefault(relation.toLowerCase(Locale.ROOT), Filter.ALL);
  }

  /**
   * The filter's condition for {@code relation}, or null when every row is kept.
   *
   * @throws BackendUnavailableException when the relation's foreign rows cannot be told apart
   */
  @Nullable String keepCondition(String relation) {
    Filter f = filter(relation);
    if (f.refusal() != null) {
      throw new BackendUnavailableException(f.refusal(), null);
    }
    return f.keep();
  }

  /**
   * The condition on this instance's rows of {@code relation} that keeps exactly the rows of the
   * partitions in {@code scope} it owns (every partition it owns when {@code scope} is null), or
   * null when every row is kept. Asked for fewer partitions than it owns (a reader planned its
   * parts before a rebalance gave this instance more), it lists its keys by partition, as after a
   * rebalance.
   *
   * @throws BackendUnavailableException when the relation's rows cannot be told apart by partition
   */
  @Nullable String keepCondition(String relation, @Nullable Set<Integer> scope) {
    Set<Integer> owned = owner.owned();
    if (scope == null || scope.containsAll(owned)) {
      return keepCondition(relation);
    }
    for (Map.Entry<String, List<String>> t : engine.cluster().ingestedTables().entrySet()) {
      List<String> relations = new ArrayList<>();
      relations.add(t.getKey());
      relations.addAll(t.getValue());
      if (relations.stream().noneMatch(relation::equalsIgnoreCase)) {
        continue;
      }
      String key = engine.cluster().keyColumnOf(t.getKey());
      if (key == null) {
        // Its rows here are of these partitions, and cannot be told apart among them.
        Set<Integer> from = owner.keylessPartitionsOf(t.getKey());
        Set<Integer> asked = new TreeSet<>(owned);
        asked.retainAll(scope);
        if (asked.containsAll(from)) {
          return null;
        }
        if (from.stream().noneMatch(asked::contains)) {
          return "false";
        }
        throw new BackendUnavailableException(
            "instance "
                + config.instanceId()
                + " was asked for the rows of '"
                + relation
                + "' in partitions "
                + new TreeSet<>(scope)
                + " alone, and a table without one key column cannot be split by partition",
            null);
      }
      KeySet others = keysIn(key, relations, p -> !(owned.contains(p) && scope.contains(p)));
      return others.none() ? null : others.rowsOfOthers(key);
    }
    return null; // a relation this instance holds no rows of
  }

  private Map<String, Filter> compute() {
    Set<Integer> owned = owner.owned();
    Map<String, Filter> out = new HashMap<>();
    for (Map.Entry<String, List<String>> t : engine.cluster().ingestedTables().entrySet()) {
      String table = t.getKey();
      List<String> relations = new ArrayList<>();
      relations.add(table);
      relations.addAll(t.getValue());
      String key = engine.cluster().keyColumnOf(table);
      Filter filter;
      if (key == null && owned.containsAll(owner.keylessPartitionsOf(table))) {
        filter = Filter.ALL; // all its rows here are of partitions this instance owns
      } else if (key == null) {
        filter =
            new Filter(
                null,
                "instance "
                    + config.instanceId()
                    + " holds rows of '"
                    + table
                    + "' from partitions a rebalance moved away, and a table without one key"
                    + " column cannot be split by partition (docs/cluster.md, \"Not yet\")");
      } else {
        filter = keyFilter(key, relations, owned);
      }
      for (String r : relations) {
        out.put(r.toLowerCase(Locale.ROOT), filter);
      }
    }
    return out;
  }

  /** Leaves out the keys of {@code relations} whose partition this instance does not own. */
  private Filter keyFilter(String key, List<String> relations, Set<Integer> owned) {
    KeySet foreign = keysIn(key, relations, p -> !owned.contains(p));
    return foreign.none() ? Filter.ALL : new Filter(foreign.rowsOfOthers(key), null);
  }

  /** Some keys of a relation's one key column, as DuckDB's text of each. */
  record KeySet(Set<String> texts, boolean includesNull) {
    static final KeySet NONE = new KeySet(Set.of(), false);

    boolean none() {
      return texts.isEmpty() && !includesNull;
    }

    /** The DuckDB condition that holds for the rows of every other key, over column {@code key}. */
    String rowsOfOthers(String key) {
      String column = quote(key);
      List<String> literals = new ArrayList<>();
      for (String f : texts) {
        literals.add("'" + f.replace("'", "''") + "'");
      }
      String cast = "CAST(" + column + " AS VARCHAR)";
      String notIn =
          literals.isEmpty() ? "true" : cast + " NOT IN (" + String.join(", ", literals) + ")";
      return includesNull
          ? "(" + column + " IS NOT NULL AND " + notIn + ")"
          : "(" + column + " IS NULL OR " + notIn + ")";
    }

    /** The DuckDB condition that holds for the rows of these keys, over column {@code key}. */
    String rowsOf(String key) {
      return none() ? "false" : "NOT " + rowsOfOthers(key);
    }

    /** True for a key (its one value) among these, compared as DuckDB's text of it. */
    boolean contains(List<@Nullable Object> key) {
      Object v = key.isEmpty() ? null : key.get(0);
      if (v == null) {
        return includesNull;
      }
      return texts.contains(text(v));
    }
  }

  /** A key value as DuckDB's text of it, which is what places it in a partition. */
  static String text(Object value) {
    return value instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : value.toString();
  }

  /**
   * The keys of {@code relations}' column {@code key} whose partition {@code partitions} accepts.
   */
  private KeySet keysIn(String key, List<String> relations, IntPredicate partitions) {
    Map<Integer, KeySet> byPartition = keysByPartition(key, relations);
    Set<String> texts = new TreeSet<>();
    boolean includesNull = false;
    for (Map.Entry<Integer, KeySet> e : byPartition.entrySet()) {
      if (partitions.test(e.getKey())) {
        texts.addAll(e.getValue().texts());
        includesNull |= e.getValue().includesNull();
      }
    }
    return new KeySet(texts, includesNull);
  }

  /**
   * The distinct keys this instance holds in {@code relations}' column {@code key}, by partition:
   * what it holds, whatever has left its cache (a listing, not an answer).
   */
  Map<Integer, KeySet> keysByPartition(String key, List<String> relations) {
    String column = quote(key);
    List<String> selects = new ArrayList<>();
    for (String r : relations) {
      selects.add("SELECT DISTINCT CAST(" + column + " AS VARCHAR) AS k FROM " + quote(r));
    }
    Map<Integer, Set<String>> texts = new HashMap<>();
    Set<Integer> withNull = new HashSet<>();
    try (org.apache.arrow.vector.ipc.ArrowReader keys =
        engine.cluster().queryHeldRows(String.join(" UNION ", selects), engine.allocator())) {
      while (keys.loadNextBatch()) {
        VectorSchemaRoot root = keys.getVectorSchemaRoot();
        VarCharVector k = (VarCharVector) root.getVector(0);
        for (int i = 0; i < root.getRowCount(); i++) {
          byte[] bytes = k.isNull(i) ? new byte[0] : k.get(i);
          int p = KeyPartitioner.partitionOfKey(bytes, config.partitions());
          if (k.isNull(i)) {
            withNull.add(p);
          } else {
            texts
                .computeIfAbsent(p, x -> new TreeSet<>())
                .add(new String(bytes, StandardCharsets.UTF_8));
          }
        }
      }
    } catch (IOException e) {
      throw new HyprstreamException("cannot list this instance's keys: " + e, e);
    }
    Map<Integer, KeySet> out = new HashMap<>();
    Set<Integer> partitions = new HashSet<>(texts.keySet());
    partitions.addAll(withNull);
    for (int p : partitions) {
      out.put(p, new KeySet(texts.getOrDefault(p, Set.of()), withNull.contains(p)));
    }
    return out;
  }

  /**
   * Drops what this instance holds of keys in partitions it no longer owns: raw rows, window view
   * rows and window state, table by table (tables without one key column keep theirs, and reads of
   * them stay refused here). Called on the thread that applies the partitions, after a rebalance
   * took some away; reads in the meantime leave those keys out ({@link #filter}). Returns the
   * windows dropped, or -1 when something of those partitions stays (a table without one key
   * column, an aggregator that cannot drop keys).
   */
  synchronized long dropMoved() {
    Set<Integer> owned = owner.owned();
    long dropped = 0;
    boolean whole = true;
    for (Map.Entry<String, List<String>> t : engine.cluster().ingestedTables().entrySet()) {
      String key = engine.cluster().keyColumnOf(t.getKey());
      if (key == null) {
        // A table without one key column keeps what it holds, of partitions it may have lost.
        whole &= owned.containsAll(owner.keylessPartitionsOf(t.getKey()));
        continue;
      }
      List<String> relations = new ArrayList<>();
      relations.add(t.getKey());
      relations.addAll(t.getValue());
      KeySet foreign = keysIn(key, relations, p -> !owned.contains(p));
      if (foreign.none()) {
        continue;
      }
      long windows =
          engine.cluster().forgetKeys(t.getKey(), foreign.rowsOf(key), foreign::contains);
      if (windows < 0) {
        whole = false;
      } else {
        dropped += windows;
      }
    }
    seenRebalances = -1; // the next read lists the keys again
    return whole ? dropped : -1;
  }
}
