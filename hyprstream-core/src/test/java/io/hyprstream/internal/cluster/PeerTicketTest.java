package io.hyprstream.internal.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hyprstream.api.QueryRejectedException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

final class PeerTicketTest {
  @Test
  void parametersTravelWithTheirTypes() {
    List<@Nullable Object> values = Arrays.asList("cpu's", 7L, 3, 2.5, true, null);
    PeerTicket sent =
        new PeerTicket(
            "prod",
            Set.of(4, 1),
            "SELECT * FROM metrics_1h WHERE metric_id = ?",
            values,
            null,
            false,
            false);
    PeerTicket got = PeerTicket.decode(sent.encode());
    assertEquals(sent.sql(), got.sql());
    assertEquals(Set.of(1, 4), got.partitions());
    // An Integer comes back a Long: DuckDB binds both as an integer.
    assertEquals(Arrays.asList("cpu's", 7L, 3L, 2.5, true, null), got.parameters());
    assertEquals(null, got.relation());
    assertFalse(got.awaitBackendWrites());
  }

  @Test
  void aReadOfOneRelation_carriesItsNameAndItsFlags() {
    PeerTicket sent =
        new PeerTicket(
            "prod", Set.of(0), "SELECT * FROM metrics", List.of(), "metrics", true, true);
    PeerTicket got = PeerTicket.decode(sent.encode());
    assertEquals("metrics", got.relation());
    assertTrue(got.awaitBackendWrites());
    assertTrue(got.partialAggregates());
  }

  @Test
  void onlyPlainValuesTravel_othersAreInlinedByTheAsker() {
    assertTrue(TicketJson.carries(Arrays.asList("a", 1L, null)));
    assertFalse(TicketJson.carries(List.of(Instant.EPOCH)));
  }

  @Test
  void unknownParameterType_isRefusedNamingIt() {
    byte[] prefix = io.hyprstream.ClusterMember.PEER_TICKET_PREFIX;
    byte[] json =
        "{\"cluster\":\"c\",\"partitions\":[0],\"sql\":\"SELECT 1\",\"parameters\":[{\"type\":\"blob\"}]}"
            .getBytes(StandardCharsets.UTF_8);
    byte[] ticket = Arrays.copyOf(prefix, prefix.length + json.length);
    System.arraycopy(json, 0, ticket, prefix.length, json.length);
    QueryRejectedException e =
        assertThrows(QueryRejectedException.class, () -> PeerTicket.decode(ticket));
    assertTrue(e.getMessage().contains("blob"), e.getMessage());
  }
}
