package io.hyprstream.flight.internal;

import io.hyprstream.Hyprstream;
import org.apache.arrow.memory.BufferAllocator;
import org.jspecify.annotations.Nullable;

/**
 * What another front end of a server (the web console) shares with its Flight SQL port, so that its
 * requests meet the same users, roles, limits, meters and memory bound: the instance, the policy
 * Flight SQL enforces, the authenticator whose bearer tokens Flight accepts (null without
 * authentication), and the server's allocator, of which the front end takes a child and closes it
 * before the server closes.
 */
public record FrontEnd(
    Hyprstream hyprstream,
    ServerPolicy policy,
    @Nullable TokenAuthenticator authenticator,
    BufferAllocator allocator) {}
