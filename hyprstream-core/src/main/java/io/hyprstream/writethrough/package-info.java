/**
 * Write-through: logged batches go to the backend store in order, retried until committed, and
 * leave the write-ahead log only then.
 */
@NullMarked
package io.hyprstream.writethrough;

import org.jspecify.annotations.NullMarked;
