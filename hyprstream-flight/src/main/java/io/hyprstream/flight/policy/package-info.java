/**
 * What a server allows: who may call it and with which role ({@link
 * io.hyprstream.flight.policy.Authentication}), and how much each call may take ({@link
 * io.hyprstream.flight.policy.ServerLimits}). Kept apart from the server so its internals can use
 * them without depending on the server itself.
 */
@NullMarked
package io.hyprstream.flight.policy;

import org.jspecify.annotations.NullMarked;
