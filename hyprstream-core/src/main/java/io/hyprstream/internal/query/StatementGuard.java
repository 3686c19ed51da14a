package io.hyprstream.internal.query;

import io.hyprstream.api.QueryRejectedException;
import io.hyprstream.api.TableNotFoundException;
import io.hyprstream.internal.sql.Change;
import io.hyprstream.internal.sql.StatementAnalysis;
import io.hyprstream.internal.sql.TableRef;
import io.hyprstream.internal.table.TableState;
import io.hyprstream.internal.table.Tables;
import java.util.Set;

/**
 * Decides which statements clients may run on the shared cache, from DuckDB's own analysis of each:
 * reads always; writes only to their own tables, never to system tables, window views or the tables
 * ingest manages (which take rows as ingest, see {@link InsertAsIngest}); nothing that changes the
 * shared catalog's meaning, settings or files.
 */
public final class StatementGuard {
  private final Tables tables;
  private final String catalog;

  /**
   * @param catalog the cache database's name, which a catalog-qualified table name must use
   */
  public StatementGuard(Tables tables, String catalog) {
    this.tables = tables;
    this.catalog = catalog;
  }

  /**
   * Refuses a statement that would change what other clients see, from DuckDB's own analysis of it;
   * the same decision for a query, a prepared statement, an update and {@code execute}. A SELECT
   * changes nothing. Any other statement is bound by DuckDB first, and each thing its plan changes
   * must be allowed ({@link #check(Change, boolean)}); a statement DuckDB cannot bind or whose plan
   * holds an operator this guard does not know is refused.
   *
   * @param asQuery true when the statement runs as a query, which must not change ingested rows
   *     (INSERT into them runs as an ingest only through {@code execute})
   */
  public void check(StatementAnalysis analysis, boolean asQuery) {
    if (analysis.kind() != StatementAnalysis.Kind.NOT_A_QUERY) {
      return; // a SELECT; or text DuckDB's parser refuses, which fails with its message when run
    }
    String error = analysis.error();
    if (error != null) {
      String missing = analysis.missingTable();
      if (missing != null) {
        throw new TableNotFoundException(missing);
      }
      throw new QueryRejectedException(
          "the statement is refused because DuckDB cannot bind it to check what it changes: "
              + error,
          null);
    }
    if (analysis.statements() > 1) {
      throw new QueryRejectedException(
          "one statement at a time: this text holds "
              + analysis.statements()
              + " statements; send them one by one",
          null);
    }
    for (Change c : analysis.changes()) {
      check(c, asQuery);
    }
  }

  /** Catalog entries whose creation changes the meaning of every client's SQL. */
  private static final Set<String> MEANING_CHANGING_ENTRIES =
      Set.of("MACRO_ENTRY", "TABLE_MACRO_ENTRY", "TYPE_ENTRY", "SECRET_ENTRY");

  private void check(Change c, boolean asQuery) {
    String op = c.operation();
    TableRef target = c.target();
    switch (op) {
      case "INSERT":
      case "UPDATE":
      case "DELETE":
      case "MERGE_INTO":
        guardWrite(target, op.equals("MERGE_INTO") ? "MERGE" : op, true, asQuery);
        return;
      case "CREATE_TABLE":
      case "CREATE_VIEW":
      case "CREATE_SEQUENCE":
      case "CREATE_SCHEMA":
      case "CREATE_INDEX":
        if (c.temporary()) {
          throw new QueryRejectedException(
              "temporary tables, views and sequences are refused: the server's DuckDB connections"
                  + " are shared by every client, and a temporary '"
                  + target.name()
                  + "' would hide the table of that name from the others",
              null);
        }
        guardName(target);
        if (op.equals("CREATE_VIEW")) {
          guardViewName(target);
        }
        if (c.replaces()) {
          guardWrite(target, "CREATE OR REPLACE", false, asQuery);
        } else if (op.equals("CREATE_INDEX")) {
          guardWrite(target, "CREATE INDEX", false, asQuery);
        }
        return;
      case "DROP":
      case "ALTER":
        if (MEANING_CHANGING_ENTRIES.contains(c.entryType())
            || c.entryType().equals("PREPARED_STATEMENT")) {
          throw new QueryRejectedException(
              op + " of " + c.entryType() + " '" + target.name() + "' is not allowed", null);
        }
        if (c.entryType().equals("SCHEMA_ENTRY")) {
          if (isSystemCatalog(target.catalog())
              || target.name().equalsIgnoreCase("main")
              || Tables.reserved(target.name())) {
            throw new QueryRejectedException(
                op
                    + " of schema '"
                    + target.name()
                    + "' is not allowed: it holds Hyprstream's or DuckDB's own tables",
                null);
          }
          return;
        }
        if (!c.entryType().equals("SEQUENCE_ENTRY") && !c.entryType().equals("INDEX_ENTRY")) {
          guardWrite(target, op, false, asQuery);
        }
        String renamed = c.newName();
        if (renamed != null) {
          TableRef to = new TableRef(target.catalog(), target.schema(), renamed);
          guardName(to);
          if (c.entryType().equals("ALTER_VIEW")) {
            guardViewName(to);
          }
        }
        return;
      case "CREATE_MACRO":
      case "CREATE_FUNCTION":
      case "CREATE_TYPE":
      case "CREATE_SECRET":
        throw new QueryRejectedException(
            "CREATE MACRO, CREATE FUNCTION, CREATE TYPE and CREATE SECRET are refused: the"
                + " server's catalog is shared by every client, and a function or type created"
                + " here (say, a macro named like a built-in such as abs or now) would change the"
                + " answers of every other client's queries",
            null);
      case "SET":
      case "RESET":
        throw new QueryRejectedException(
            "SET, RESET, USE and PRAGMA settings are refused: the server's DuckDB connections are"
                + " shared by every client, so a setting ('"
                + target.name()
                + "') would change other clients' results",
            null);
      case "TRANSACTION":
        throw new QueryRejectedException(
            "BEGIN, COMMIT and ROLLBACK are refused: each statement commits on its own, and a"
                + " transaction left open on a shared connection would hold other clients' writes",
            null);
      case "ATTACH":
      case "DETACH":
      case "LOAD":
      case "EXPORT":
      case "COPY_TO_FILE":
      case "COPY_DATABASE":
      case "VACUUM":
        throw new QueryRejectedException(
            op.replace('_', ' ')
                + " is not allowed: the cache's catalog, files and extensions are fixed",
            null);
      default:
        throw new QueryRejectedException(
            "the statement is refused: its plan holds "
                + op
                + ", which this server does not accept from clients",
            null);
    }
  }

  /**
   * Refuses {@code verb} on {@code target} when it is a system table or view, a window view, a
   * table with window aggregates, or a table ingest manages (which takes INSERT, UPDATE and DELETE
   * only, and as a query none of them).
   *
   * @param rowWrite true for INSERT, UPDATE, DELETE and MERGE, which change rows
   */
  private void guardWrite(TableRef target, String verb, boolean rowWrite, boolean asQuery) {
    String name = target.name();
    if (isSystemCatalog(target.catalog())
        || isSystemSchema(target.schema())
        || Tables.reserved(name)) {
      throw new QueryRejectedException(
          "'" + name + "' is a read-only system table; " + verb + " on it is not allowed", null);
    }
    if (!inCacheMain(target)) {
      return; // a table of the client's own schema
    }
    TableState ts = tables.get(name);
    boolean view = tables.isView(name);
    boolean aggregated = (tables.spec(name) != null);
    boolean managed = ts != null && ts.isManaged();
    if (asQuery && rowWrite && (view || aggregated || managed)) {
      throw runAsStatement(verb, name);
    }
    if (view) {
      throw new QueryRejectedException(
          "'" + name + "' is a window view maintained by Hyprstream and cannot be changed by SQL",
          null);
    }
    if (aggregated) {
      throw new QueryRejectedException(
          verb.equals("INSERT")
              ? "this INSERT into '"
                  + name
                  + "' could not be read (expected INSERT INTO name [(columns)] VALUES ... or"
                  + " INSERT INTO name [(columns)] SELECT ...)"
              : rowWrite
                  ? verb
                      + " of rows of '"
                      + name
                      + "' is not allowed: its window aggregates were computed from the rows as"
                      + " ingested, and changed rows would no longer agree with them. Rows are"
                      + " only added (ingest or INSERT) and leave by expiry; re-ingest corrected"
                      + " data as new rows"
                  : "'" + name + "' is managed by Hyprstream; " + verb + " on it is not allowed",
          null);
    }
    if (managed && !rowWrite) {
      throw new QueryRejectedException(
          "'" + name + "' is managed by Hyprstream; " + verb + " on it is not allowed", null);
    }
  }

  public static QueryRejectedException runAsStatement(String verb, String table) {
    return new QueryRejectedException(
        verb
            + " on '"
            + table
            + "' changes rows: run it as a statement (execute, a Flight SQL update,"
            + " JDBC executeUpdate), not as a query",
        null);
  }

  /** Refuses creating (or renaming to) a name reserved for system tables and catalogs. */
  /** True when {@code ref} is in the cache's own catalog and its {@code main} schema. */
  private boolean inCacheMain(TableRef ref) {
    return (ref.catalog().isEmpty() || ref.catalog().equalsIgnoreCase(catalog))
        && (ref.schema().isEmpty() || ref.schema().equalsIgnoreCase("main"));
  }

  /**
   * Refuses a SQL view named like a table with window aggregates or a window view, even before that
   * table exists: those names are Hyprstream's, and the SQL analyser takes them for tables that no
   * view hides.
   */
  private void guardViewName(TableRef view) {
    String name = view.name();
    if (inCacheMain(view) && (tables.spec(name) != null || tables.isView(name))) {
      throw new QueryRejectedException(
          "'"
              + name
              + "' is "
              + (tables.isView(name)
                  ? "a window view maintained by Hyprstream"
                  : "a table with window aggregates")
              + "; a SQL view cannot take its name",
          null);
    }
  }

  private void guardName(TableRef created) {
    if (isSystemCatalog(created.catalog())
        || isSystemSchema(created.schema())
        || Tables.reserved(created.name())) {
      throw new QueryRejectedException(
          "'"
              + created.name()
              + "' is reserved: names starting with "
              + String.join(", ", Tables.RESERVED_PREFIXES)
              + " and the system and temp catalogs belong to Hyprstream's system tables or"
              + " DuckDB's catalog",
          null);
    }
  }

  private static boolean isSystemCatalog(String catalog) {
    return catalog.equalsIgnoreCase("system") || catalog.equalsIgnoreCase("temp");
  }

  private static boolean isSystemSchema(String schema) {
    return schema.equalsIgnoreCase("information_schema") || schema.equalsIgnoreCase("pg_catalog");
  }
}
