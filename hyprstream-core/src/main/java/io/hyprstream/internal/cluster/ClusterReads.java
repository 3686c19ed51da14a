package io.hyprstream.internal.cluster;

import static io.hyprstream.api.SqlIdentifier.quote;

import io.hyprstream.ClusterMember;
import io.hyprstream.QueryResult;
import io.hyprstream.api.BackendUnavailableException;
import io.hyprstream.api.Freshness;
import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.cluster.ClusterConfig;
import io.hyprstream.internal.Engine;
import io.hyprstream.internal.arrow.BatchListReader;
import io.hyprstream.internal.arrow.Closeables;
import io.hyprstream.internal.cache.CacheSql;
import io.hyprstream.internal.query.BackendReads;
import io.hyprstream.internal.query.Router;
import io.hyprstream.internal.sql.LookupShape;
import io.hyprstream.internal.sql.SqlLiterals;
import io.hyprstream.internal.sql.StatementAnalysis;
import io.hyprstream.internal.sql.TableRef;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a query on one instance of a cluster completely, though the rows it reads are spread over
 * the instances that own their partitions.
 *
 * <ul>
 *   <li>A query that reads no partitioned relation (system tables, tables created by SQL, constant
 *       expressions) runs here alone.
 *   <li>A single-key lookup ({@link LookupShape} with {@code key = value} on a relation with one
 *       key column) goes whole to the owner of the key's partition ({@link KeyPartitioner}): all of
 *       the key's rows and windows are there.
 *   <li>Anything else: for each partitioned relation it reads (an ingested table or a window view),
 *       each other owner's rows of it are fetched ({@code SELECT *}, with the query's time bounds
 *       where they are proven), and the original SQL runs here on DuckDB where each such relation
 *       reads as this instance's rows plus the fetched ones ({@link Engine#queryWithRows}). A key
 *       lives in one partition, so a window view's rows are disjoint across owners and their union
 *       is exact.
 * </ul>
 *
 * Reads of other instances are {@link PeerTicket}s, which the answering instance runs on its own
 * engine alone: they never fan out again. An owner that is unknown, advertises no location, cannot
 * be reached, or is still restoring its partitions fails the query ({@link
 * BackendUnavailableException}, Flight {@code UNAVAILABLE}) naming the partitions and the owner:
 * never a partial answer.
 */
final class ClusterReads {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterReads.class);

  /** How long a query waits for the membership to name an owner of every partition it needs. */
  static final Duration OWNER_WAIT = Duration.ofSeconds(5);

  /** Tries when an owner answers that it no longer owns a partition (a rebalance moved it). */
  private static final int ATTEMPTS = 3;

  /** What an instance answers when asked for a partition it does not own; see {@link #check}. */
  static final String NOT_OWNER = "does not own partitions";

  private final Engine engine;
  private final ClusterConfig config;
  private final Membership membership;
  private final PartitionOwner owner;
  private final PeerClient peers;
  private final ColumnClaims columns;
  private final ForeignRows foreign;

  ClusterReads(
      Engine engine,
      ClusterConfig config,
      Membership membership,
      PartitionOwner owner,
      PeerClient peers,
      ColumnClaims columns) {
    this.engine = engine;
    this.columns = columns;
    this.config = config;
    this.membership = membership;
    this.owner = owner;
    this.peers = peers;
    this.foreign = new ForeignRows(engine, config, owner);
  }

  /**
   * {@code sql} as this instance answers a peer's read of {@code relation}'s rows: the rows of the
   * partitions {@code asked} alone, without those of partitions it no longer owns ({@link
   * ForeignRows}) or owns but was not asked for (a rebalance gave them to it after the asker read
   * the membership, and the asker reads them from their former owner or not at all).
   */
  String ownRows(String relation, String sql, Set<Integer> asked) {
    String keep = foreign.keepCondition(relation, asked);
    return keep == null ? sql : "SELECT * FROM (" + sql + ") AS own_rows WHERE " + keep;
  }

  /** What this instance holds of partitions it no longer owns, and its keys by partition. */
  ForeignRows foreignRows() {
    return foreign;
  }

  /**
   * Drops this instance's state of partitions it no longer owns ({@link ForeignRows#dropMoved}).
   */
  long dropMoved() {
    return foreign.dropMoved();
  }

  QueryResult query(String sql, List<@Nullable Object> parameters, BufferAllocator alloc) {
    StatementAnalysis analysis = engine.cluster().analyse(sql);
    if (!analysis.isQuery()) {
      return engine.query(sql, parameters, alloc); // the engine refuses or routes it
    }
    holdTablesOfOthers(analysis);
    List<String> relations = partitionedRelations(analysis);
    if (analysis.names().contains(ClusterTable.NAME)) {
      if (!relations.isEmpty()) {
        throw new QueryRejectedException(
            ClusterTable.NAME + " is read on its own, not with " + relations, null);
      }
      return engine
          .cluster()
          .queryWithTable(sql, analysis, ClusterTable.NAME, clusterTable(alloc), alloc);
    }
    if (relations.isEmpty()) {
      return engine.query(sql, parameters, alloc);
    }
    // Rows older than the cache duration come once from the backend, every owner answering from
    // the cold boundary on: such a query is not a key lookup one owner answers alone.
    List<Router.ColdRead> cold = engine.cluster().clusterColdReads(analysis, parameters);
    Integer keyPartition = cold.isEmpty() ? keyPartition(analysis, parameters) : null;
    Set<Integer> needed = new TreeSet<>();
    if (keyPartition != null) {
      needed.add(keyPartition);
    } else {
      for (int p = 0; p < config.partitions(); p++) {
        needed.add(p);
      }
    }
    return withRetries(
        () ->
            answer(
                sql,
                parameters,
                alloc,
                analysis,
                relations,
                needed,
                keyPartition != null,
                cold,
                null));
  }

  /**
   * Makes each table the query names that ingest created only on other instances known here, with
   * no rows, from the columns the cluster claimed for it ({@link ColumnClaims}): the query then
   * reads it from the instances that hold its rows rather than failing as not found here.
   */
  private void holdTablesOfOthers(StatementAnalysis analysis) {
    for (TableRef t : analysis.tables()) {
      if (t.catalogQualified() || engine.cluster().holds(t.name())) {
        continue;
      }
      String table = engine.cluster().tableOf(t.name()); // a window view reads its table's rows
      org.apache.arrow.vector.types.pojo.Schema claimed = columns.schemaOf(table);
      if (claimed != null) {
        engine.cluster().holdEmpty(table, claimed, engine.allocator());
      }
    }
  }

  /**
   * Answers {@code sql} over the rows of {@code partitions} exactly, whichever instances own them
   * now: one part of a row filter's answer ({@link #directEndpoints}), redeemed here.
   *
   * @throws QueryRejectedException when {@code sql} is not a row filter of one window view, whose
   *     answer can be split by partition
   */
  QueryResult queryPartitions(
      String sql,
      List<@Nullable Object> parameters,
      Set<Integer> partitions,
      BufferAllocator alloc) {
    StatementAnalysis analysis = engine.cluster().analyse(sql);
    if (analysis.isQuery()) {
      holdTablesOfOthers(analysis); // an owner of a part may hold no row of the view's table
    }
    List<String> relations = analysis.isQuery() ? partitionedRelations(analysis) : List.of();
    if (splitView(analysis, relations) == null) {
      throw new QueryRejectedException(
          "a route ticket for some partitions carries a query that is not a row filter of one"
              + " window view: "
              + sql,
          null);
    }
    for (int p : partitions) {
      if (p < 0 || p >= config.partitions()) {
        throw new QueryRejectedException(
            "a route ticket names partition " + p + " of a cluster of " + config.partitions(),
            null);
      }
    }
    Set<Integer> scope = Set.copyOf(partitions);
    return withRetries(
        () -> answer(sql, parameters, alloc, analysis, relations, scope, false, List.of(), scope));
  }

  /** Runs {@code read}, again with fresh membership while owners answer they moved. */
  private static QueryResult withRetries(java.util.function.Supplier<QueryResult> read) {
    for (int attempt = 1; ; attempt++) {
      try {
        return read.get();
      } catch (StaleOwner e) {
        if (attempt >= ATTEMPTS) {
          throw new BackendUnavailableException(
              e.getMessage() + " (asked " + ATTEMPTS + " times: the cluster is rebalancing)", e);
        }
        LOG.debug("retrying a cluster read after a rebalance: {}", e.getMessage());
        try {
          Thread.sleep(200L * attempt);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new BackendUnavailableException("interrupted: " + e.getMessage(), e);
        }
      }
    }
  }

  /**
   * Where a client reads {@code sql}'s answer from, when that is not this instance alone ({@link
   * io.hyprstream.ClusterMember#directEndpoints}): the owner of the one key a key lookup reads, or
   * one part per owner of a row filter of one window view. Null when this instance answers it.
   */
  @Nullable List<ClusterMember.Endpoint> directEndpoints(
      String sql, List<@Nullable Object> parameters) {
    if (!config.directReads() || !TicketJson.carries(parameters)) {
      return null;
    }
    StatementAnalysis analysis = engine.cluster().analyse(sql);
    if (!analysis.isQuery() || analysis.names().contains(ClusterTable.NAME)) {
      return null;
    }
    List<String> relations = partitionedRelations(analysis);
    if (relations.isEmpty() || !engine.cluster().clusterColdReads(analysis, parameters).isEmpty()) {
      return null;
    }
    Set<Integer> mine = owner.owned();
    Membership.Directory directory = membership.directory();
    Integer key = keyPartition(analysis, parameters);
    if (key != null) {
      Membership.Member m = directory.ownerOf(key);
      if (mine.contains(key) || m == null || isThis(m) || m.location() == null) {
        return null;
      }
      return List.of(
          new ClusterMember.Endpoint(
              m.location(), RouteTicket.encode(new ClusterMember.Route(sql, parameters, null))));
    }
    if (splitView(analysis, relations) == null) {
      return null;
    }
    // One part per owner, by the membership now; each part's ticket names its partitions, so an
    // owner that gained or lost some since answers exactly those anyway.
    Map<@Nullable String, Set<Integer>> byLocation = new LinkedHashMap<>();
    for (int p = 0; p < config.partitions(); p++) {
      if (mine.contains(p)) {
        byLocation.computeIfAbsent(null, k -> new TreeSet<>()).add(p);
        continue;
      }
      Membership.Member m = directory.ownerOf(p);
      if (m == null || isThis(m) || m.location() == null) {
        return null; // answered here, which waits for an owner or names the one missing
      }
      byLocation.computeIfAbsent(m.location(), k -> new TreeSet<>()).add(p);
    }
    if (byLocation.size() == 1 && byLocation.containsKey(null)) {
      return null; // this instance owns every partition
    }
    List<ClusterMember.Endpoint> out = new ArrayList<>();
    byLocation.forEach(
        (location, partitions) ->
            out.add(
                new ClusterMember.Endpoint(
                    location,
                    RouteTicket.encode(new ClusterMember.Route(sql, parameters, partitions)))));
    return out;
  }

  private boolean isThis(Membership.Member m) {
    return m.instanceId().equals(config.instanceId());
  }

  /**
   * The window view a row filter reads, whose answer is the union of its answers over each
   * partition's rows; null for any other query. Only window views: their columns are the same on
   * every instance, so every part's answer has the schema the client was told, while a table's
   * columns are those of the rows each instance has seen.
   */
  private @Nullable String splitView(StatementAnalysis analysis, List<String> relations) {
    if (!analysis.isQuery()
        || !analysis.isRowFilter()
        || relations.size() != 1
        || analysis.tables().size() != 1) {
      return null;
    }
    String relation = relations.get(0);
    for (Map.Entry<String, List<String>> t : engine.cluster().ingestedTables().entrySet()) {
      boolean view = t.getValue().stream().anyMatch(relation::equalsIgnoreCase);
      if (view && engine.cluster().keyColumnOf(t.getKey()) != null) {
        return relation;
      }
    }
    return null;
  }

  /** The rows of {@link ClusterTable} now. */
  private org.apache.arrow.vector.ipc.ArrowReader clusterTable(BufferAllocator alloc) {
    return ClusterTable.rows(
        membership.directory(),
        config.partitions(),
        config.instanceId(),
        owner.owned(),
        owner::restoring,
        owner::lag,
        engine.operations().windowStateBytes(),
        owner::checkpointedOffset,
        alloc);
  }

  /** The schema of a query of {@link ClusterTable}, or null when {@code sql} reads none. */
  org.apache.arrow.vector.types.pojo.@Nullable Schema clusterTableSchema(String sql) {
    StatementAnalysis analysis = engine.cluster().analyse(sql);
    if (!analysis.isQuery() || !analysis.names().contains(ClusterTable.NAME)) {
      return null;
    }
    try (QueryResult r =
        engine
            .cluster()
            .queryWithTable(
                "SELECT * FROM (" + sql + ") AS q LIMIT 0",
                analysis,
                ClusterTable.NAME,
                clusterTable(engine.allocator()),
                engine.allocator())) {
      return r.getVectorSchemaRoot().getSchema();
    } catch (java.io.IOException e) {
      throw new io.hyprstream.api.HyprstreamException("cannot read " + ClusterTable.NAME, e);
    }
  }

  /**
   * The relations the query reads whose rows are split across the cluster, once each.
   *
   * @throws QueryRejectedException when the query names one with its catalog, which the fetched
   *     rows cannot stand in for
   */
  private List<String> partitionedRelations(StatementAnalysis analysis) {
    Set<String> out = new LinkedHashSet<>();
    for (TableRef t : analysis.tables()) {
      if (engine.cluster().isPartitioned(t.name())) {
        if (t.catalogQualified()) {
          throw new QueryRejectedException(
              "in a cluster, name '"
                  + t.name()
                  + "' without its catalog ('"
                  + t
                  + "'): the other instances' rows of it are read in under its plain name",
              null);
        }
        out.add(t.name().toLowerCase(Locale.ROOT));
      }
    }
    return new ArrayList<>(out);
  }

  /**
   * Refuses a statement other than a query that reads a partitioned relation (other than as the
   * target of an INSERT), and views and macros: it runs on this instance alone, so it would read
   * only this instance's rows, a partial answer nobody would see.
   */
  void checkStatement(String sql) {
    StatementAnalysis analysis = engine.cluster().analyse(sql);
    if (analysis.isQuery()) {
      return; // Hyprstream.execute refuses queries itself
    }
    for (io.hyprstream.internal.sql.Change c : analysis.changes()) {
      String op = c.operation() + " " + c.entryType();
      if (op.contains("VIEW") || op.contains("MACRO")) {
        // What a view or macro reads is bound only when it is used, on this instance alone.
        throw new QueryRejectedException(
            "in a cluster, views and macros are refused: each instance would hold its own, and one"
                + " reading an ingested table or a window view would see only that instance's"
                + " share; write the query in full (it reads every instance's rows)",
            null);
      }
    }
    Set<String> read = new TreeSet<>(analysis.names());
    io.hyprstream.internal.sql.InsertStatement insert = analysis.insert();
    if (insert != null) {
      read.remove(insert.table.toLowerCase(Locale.ROOT));
      read.addAll(engine.cluster().analyse(insert.source).names());
    }
    for (String name : read) {
      if (engine.cluster().isPartitioned(name)) {
        throw new QueryRejectedException(
            "in a cluster, a statement that reads '"
                + name
                + "' would see only this instance's share of it; read it with a query (which"
                + " reads every instance's rows)",
            null);
      }
    }
  }

  /**
   * The partition of the one key a single-key lookup reads, or null when the query is not one:
   * {@code SELECT ... FROM r WHERE key = 'value' [AND time bounds] [ORDER BY ...] [LIMIT ...]} on a
   * relation whose aggregation has one key column.
   */
  private @Nullable Integer keyPartition(
      StatementAnalysis analysis, List<@Nullable Object> parameters) {
    LookupShape shape = analysis.lookup();
    if (shape == null) {
      return null;
    }
    String keyColumn = engine.cluster().keyColumnOf(shape.from());
    if (keyColumn == null) {
      return null;
    }
    for (LookupShape.Term t : shape.terms()) {
      if (t.op().equals("=") && t.column().equalsIgnoreCase(keyColumn)) {
        Object key = t.value().resolve(parameters);
        if (key instanceof String s) {
          return KeyPartitioner.partitionOfKey(
              s.getBytes(StandardCharsets.UTF_8), config.partitions());
        }
      }
    }
    return null;
  }

  private QueryResult answer(
      String sql,
      List<@Nullable Object> parameters,
      BufferAllocator alloc,
      StatementAnalysis analysis,
      List<String> relations,
      Set<Integer> needed,
      boolean keyLookup,
      List<Router.ColdRead> cold,
      @Nullable Set<Integer> scope) {
    Set<Integer> mine = owner.owned();
    Set<Integer> elsewhere = new TreeSet<>(needed);
    elsewhere.removeAll(mine);
    Membership.Directory directory = membership.directory(elsewhere, OWNER_WAIT);
    mine = owner.owned();
    Map<Membership.Member, Set<Integer>> byOwner = new LinkedHashMap<>();
    Set<Integer> unowned = new TreeSet<>();
    Set<Integer> restoring = new TreeSet<>();
    Map<String, Set<Integer>> unlocated = new LinkedHashMap<>();
    for (int p : needed) {
      if (mine.contains(p)) {
        if (owner.restoring(p)) {
          restoring.add(p);
        }
        continue;
      }
      Membership.Member m = directory.ownerOf(p);
      if (m == null || m.instanceId().equals(config.instanceId())) {
        unowned.add(p); // this instance's own record lags what its consumer holds: no owner yet
      } else if (m.location() == null) {
        unlocated.computeIfAbsent(m.instanceId(), k -> new TreeSet<>()).add(p);
      } else {
        byOwner.computeIfAbsent(m, k -> new TreeSet<>()).add(p);
      }
    }
    if (!unowned.isEmpty() || !unlocated.isEmpty() || !restoring.isEmpty()) {
      List<String> why = new ArrayList<>();
      if (!unowned.isEmpty()) {
        why.add(
            "partitions "
                + unowned
                + " have no owner in the membership (topic '"
                + config.membersTopic()
                + "': "
                + Membership.describe(directory)
                + ")");
      }
      unlocated.forEach(
          (id, ps) ->
              why.add(
                  "partitions "
                      + ps
                      + " are owned by "
                      + id
                      + ", which advertises no Flight location (--advertise)"));
      if (!restoring.isEmpty()) {
        why.add(
            "partitions "
                + restoring
                + " are still being restored from the cluster log by this instance ("
                + config.instanceId()
                + ")");
      }
      throw missing(String.join("; ", why));
    }
    if (byOwner.isEmpty() && cold.isEmpty() && (scope == null || scope.containsAll(mine))) {
      return engine.query(sql, parameters, alloc);
    }
    if (keyLookup) {
      Map.Entry<Membership.Member, Set<Integer>> only = byOwner.entrySet().iterator().next();
      Membership.Member m = only.getKey();
      PeerTicket ticket;
      if (TicketJson.carries(parameters)) {
        // The owner runs the client's own statement, analysed already after its first run.
        ticket =
            new PeerTicket(config.name(), only.getValue(), sql, parameters, null, false, false);
      } else {
        try {
          String inlined = SqlLiterals.inline(sql, parameters);
          ticket =
              new PeerTicket(
                  config.name(), only.getValue(), inlined, List.of(), null, false, false);
        } catch (IllegalArgumentException e) {
          throw new QueryRejectedException(e.getMessage() + " (sent to the key's owner)", e);
        }
      }
      PeerClient.Answer a = read(m, ticket, alloc);
      return QueryResult.of(
          alloc,
          a.rows(),
          Freshness.computed(
              Freshness.Source.CACHE, null, Instant.now(), missingOf(List.of(m), List.of(a))));
    }
    if (cold.isEmpty() && relations.size() == 1 && scope == null) {
      QueryResult combined =
          fromPartialAggregates(sql, parameters, alloc, analysis, relations.get(0), byOwner);
      if (combined != null) {
        return combined;
      }
    }
    rowFanOuts.increment();
    Map<String, Router.ColdRead> coldOf = new LinkedHashMap<>();
    cold.forEach(c -> coldOf.put(c.table().name.toLowerCase(Locale.ROOT), c));
    // Per relation, the rows read from elsewhere (the other owners', then the backend's) and the
    // condition on this instance's own rows of it.
    Map<String, List<ArrowReader>> fetched = new LinkedHashMap<>();
    Map<String, String> ownRowsWhere = new LinkedHashMap<>();
    List<String> missingElsewhere = new ArrayList<>();
    try {
      for (String relation : relations) {
        Router.ColdRead c = coldOf.get(relation);
        List<String> conditions = new ArrayList<>();
        String keep = foreign.keepCondition(relation, scope);
        if (keep != null) {
          conditions.add(keep);
        }
        if (c != null) {
          conditions.add(BackendReads.hotPredicate(c));
        }
        if (!conditions.isEmpty()) {
          ownRowsWhere.put(relation, String.join(" AND ", conditions));
        }
        String condition = engine.cluster().timeCondition(relation, analysis, parameters);
        if (c != null) {
          String hot = BackendReads.hotPredicate(c);
          condition = condition == null ? hot : condition + " AND " + hot;
        }
        String fetch =
            "SELECT * FROM " + quote(relation) + (condition == null ? "" : " WHERE " + condition);
        List<ArrowReader> rows = new ArrayList<>();
        fetched.put(relation, rows);
        for (Map.Entry<Membership.Member, Set<Integer>> e : byOwner.entrySet()) {
          PeerClient.Answer a =
              read(
                  e.getKey(),
                  new PeerTicket(
                      config.name(),
                      e.getValue(),
                      fetch,
                      List.of(),
                      relation,
                      !cold.isEmpty(),
                      false),
                  alloc);
          if (a.missing() != null) {
            missingElsewhere.add(e.getKey().instanceId() + ": " + a.missing());
          }
          if (a.rowCount() == 0) {
            Closeables.closeQuietly(a.rows());
          } else {
            rows.add(a.rows());
          }
        }
      }
      if (!cold.isEmpty()) {
        // Every other owner has its rows in the backend (its answer waited for that); so must
        // this instance, before the backend is read.
        checkWritten(needed);
        for (Router.ColdRead c : cold) {
          ArrowReader older = engine.cluster().readFromBackend(c);
          if (older != null) {
            fetched
                .computeIfAbsent(c.table().name.toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                .add(older);
          }
        }
      }
    } catch (RuntimeException e) {
      fetched.values().forEach(l -> l.forEach(Closeables::closeQuietly));
      throw e;
    }
    List<CacheSql.ExtraRows> extra = new ArrayList<>();
    fetched.forEach(
        (relation, rows) -> {
          String own = ownRowsWhere.get(relation);
          if (!rows.isEmpty() || own != null) {
            extra.add(
                new CacheSql.ExtraRows(
                    relation, emptyRows(alloc), own == null ? "true" : own, rows, "true"));
          }
        });
    if (extra.isEmpty() && missingElsewhere.isEmpty()) {
      return engine.query(sql, parameters, alloc);
    }
    return engine
        .cluster()
        .queryWithRows(sql, analysis, parameters, extra, cold, missingElsewhere, alloc);
  }

  /**
   * Answers a plain aggregate of one relation ({@link io.hyprstream.internal.sql.AggregateQuery})
   * from partial aggregates: each owner, this instance included, aggregates its own rows (a row per
   * group, not the rows), and this instance combines them. Null when the query is not such an
   * aggregate, or an owner (this one included) still holds rows of partitions that moved away (its
   * aggregate could not leave them out): the caller then reads rows.
   */
  private @Nullable QueryResult fromPartialAggregates(
      String sql,
      List<@Nullable Object> parameters,
      BufferAllocator alloc,
      StatementAnalysis analysis,
      String relation,
      Map<Membership.Member, Set<Integer>> byOwner) {
    io.hyprstream.internal.sql.AggregateQuery.Split split =
        engine.cluster().partialAggregates(relation, sql, analysis, parameters);
    if (split == null || foreign.keepCondition(relation) != null) {
      return null;
    }
    List<ArrowReader> partials = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    try {
      for (Map.Entry<Membership.Member, Set<Integer>> e : byOwner.entrySet()) {
        PeerTicket ticket =
            new PeerTicket(
                config.name(), e.getValue(), split.backendSql(), List.of(), relation, false, true);
        try {
          PeerClient.Answer a = read(e.getKey(), ticket, alloc);
          if (a.missing() != null) {
            missing.add(e.getKey().instanceId() + ": " + a.missing());
          }
          if (a.rowCount() == 0) {
            Closeables.closeQuietly(a.rows()); // no group there (or no rows of the relation)
          } else {
            partials.add(a.rows());
          }
        } catch (BackendUnavailableException refused) {
          if (String.valueOf(refused.getMessage()).contains(NO_PARTIALS)) {
            LOG.debug("reading rows instead of partial aggregates: {}", refused.getMessage());
            partials.forEach(Closeables::closeQuietly);
            return null;
          }
          throw refused;
        }
      }
      QueryResult own = engine.query(split.backendSql(), List.of(), alloc);
      partials.add(own);
      if (own.freshness().missing() != null) {
        missing.add(config.instanceId() + ": " + own.freshness().missing());
      }
    } catch (RuntimeException e) {
      partials.forEach(Closeables::closeQuietly);
      throw e;
    }
    partialFanOuts.increment();
    return engine
        .cluster()
        .combinePartials(
            split.combineSql(),
            analysis,
            partials,
            missing.isEmpty() ? null : String.join("; ", missing),
            alloc);
  }

  /** What an owner answers when it cannot compute partial aggregates of its whole share. */
  static final String NO_PARTIALS = "cannot aggregate its share alone";

  /**
   * Checks that this instance's rows of {@code relation} are exactly the share {@code asked} for,
   * so an aggregate of them is that share's partial aggregate.
   *
   * @throws QueryRejectedException naming the relation when it still holds rows of partitions that
   *     moved away, or owns partitions the asker did not count on (a rebalance gave them to it
   *     after the asker read the membership)
   */
  void checkWholeShare(String relation, Set<Integer> asked) {
    String why = null;
    if (foreign.keepCondition(relation) != null) {
      why = "it still holds rows of '" + relation + "' of partitions that moved away";
    } else if (!asked.containsAll(owner.owned())) {
      Set<Integer> more = new TreeSet<>(owner.owned());
      more.removeAll(asked);
      why = "it owns partitions " + more + " besides those asked for";
    }
    if (why != null) {
      throw new QueryRejectedException(
          "instance " + config.instanceId() + " " + NO_PARTIALS + ": " + why, null);
    }
  }

  // Fanned-out queries since the start, by what the other owners sent: rows, or partial aggregates.
  private final java.util.concurrent.atomic.LongAdder rowFanOuts =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder partialFanOuts =
      new java.util.concurrent.atomic.LongAdder();

  /** Fanned-out queries since the start: {@code [rows read, partial aggregates combined]}. */
  long[] fanOuts() {
    return new long[] {rowFanOuts.sum(), partialFanOuts.sum()};
  }

  /** The owners' {@code missing}, each with its instance, or null when no answer misses rows. */
  private static @Nullable String missingOf(
      List<Membership.Member> owners, List<PeerClient.Answer> answers) {
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < answers.size(); i++) {
      String m = answers.get(i).missing();
      if (m != null) {
        missing.add(owners.get(i).instanceId() + ": " + m);
      }
    }
    return missing.isEmpty() ? null : String.join("; ", missing);
  }

  /** A reader of no columns and no rows: the relation's cached share alone, filtered. */
  private static ArrowReader emptyRows(BufferAllocator alloc) {
    return new BatchListReader(alloc, new Schema(List.of()), List.of());
  }

  /**
   * Checks that the backend holds every record of this instance's partitions among {@code
   * partitions} that it has applied (waiting up to {@link BackendReads#BACKEND_READ_WAIT}), and
   * that it refused none for good: a read of the backend then misses no row this instance shows.
   *
   * @throws BackendUnavailableException naming what the backend lacks
   */
  void checkWritten(Set<Integer> partitions) {
    Set<Integer> mine = new TreeSet<>(owner.owned());
    mine.retainAll(partitions);
    String why = owner.awaitWritten(mine, BackendReads.BACKEND_READ_WAIT);
    long refused = owner.batchesRefusedByBackend();
    if (why == null && refused > 0) {
      why =
          "its backend refused "
              + refused
              + " batches for good (logged with their ids), so it lacks acknowledged rows";
    }
    if (why != null) {
      throw new BackendUnavailableException(
          "instance "
              + config.instanceId()
              + " of cluster '"
              + config.name()
              + "' cannot let rows older than the cache duration be read from the backend: "
              + why
              + " (bound the query's time column to the cache's range to answer from the caches)",
          null);
    }
  }

  /** One other instance's answer to {@code ticket}, or the failure that names it. */
  private PeerClient.Answer read(Membership.Member m, PeerTicket ticket, BufferAllocator alloc) {
    String location = java.util.Objects.requireNonNull(m.location());
    try {
      return peers.read(location, ticket, alloc);
    } catch (FlightRuntimeException e) {
      String description = e.status().description();
      if (description != null && description.contains(NOT_OWNER)) {
        throw new StaleOwner(
            "instance " + m.instanceId() + " at " + location + " answered: " + description);
      }
      throw missing(
          "partitions "
              + new TreeSet<>(ticket.partitions())
              + " are owned by "
              + m.instanceId()
              + " at "
              + location
              + ", which "
              + (e.status().code() == org.apache.arrow.flight.FlightStatusCode.UNAVAILABLE
                  ? "cannot be reached or cannot answer"
                  : "failed")
              + ": "
              + e.status().code()
              + (description == null || description.isEmpty() ? "" : " " + description));
    }
  }

  private BackendUnavailableException missing(String why) {
    return new BackendUnavailableException(
        "instance "
            + config.instanceId()
            + " of cluster '"
            + config.name()
            + "' cannot answer completely, so it gives no answer: "
            + why,
        null);
  }

  /**
   * Checks that this instance may answer a peer ticket for {@code partitions}: it owns each and has
   * restored each.
   *
   * @throws BackendUnavailableException naming what is missing
   */
  void check(Set<Integer> partitions) {
    Set<Integer> mine = owner.owned();
    Set<Integer> notMine = new TreeSet<>(partitions);
    notMine.removeAll(mine);
    if (!notMine.isEmpty()) {
      throw new BackendUnavailableException(
          "instance "
              + config.instanceId()
              + " "
              + NOT_OWNER
              + " "
              + notMine
              + " (it owns "
              + new TreeSet<>(mine)
              + ")",
          null);
    }
    Set<Integer> restoring = new TreeSet<>();
    for (int p : partitions) {
      if (owner.restoring(p)) {
        restoring.add(p);
      }
    }
    if (!restoring.isEmpty()) {
      throw new BackendUnavailableException(
          "instance "
              + config.instanceId()
              + " is still restoring partitions "
              + restoring
              + " from the cluster log",
          null);
    }
  }

  /** An owner answered that it no longer owns a partition: the membership read was stale. */
  private static final class StaleOwner extends RuntimeException {
    StaleOwner(String message) {
      super(message, null, false, false);
    }
  }
}
