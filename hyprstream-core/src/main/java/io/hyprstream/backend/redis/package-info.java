/**
 * Redis as a {@link io.hyprstream.api.BackendStore} ({@link
 * io.hyprstream.backend.redis.RedisBackendStore}): each table's rows in a Redis Stream whose entry
 * ids follow the rows' time, the Arrow schema beside it, and batch ids in a set written in the same
 * Lua script as the rows, so a re-sent batch adds nothing. See {@code docs/backends.md}, "Redis".
 */
@NullMarked
package io.hyprstream.backend.redis;

import org.jspecify.annotations.NullMarked;
