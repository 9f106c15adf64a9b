package io.github.smsgateway.client;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * A resuming stream of events ({@code DeliveryReport} or {@code Uplink}), read by blocking.
 *
 * <p>After UNAVAILABLE it reconnects and resumes right after the last event {@link #next()}
 * returned: the caller sees no gap and no duplicate. In a consumer group it resumes from the
 * group's position instead, so unacknowledged events come again (at-least-once). Close it
 * to end the call; not safe for concurrent use.
 *
 * @param <E> the event type
 */
public final class EventIterator<E> implements Iterator<E>, AutoCloseable {
  private final Function<Long, Iterator<E>> open;
  private final ToLongFunction<E> cursorOf;
  private final boolean grouped;
  private final ReconnectPolicy policy;
  private Context.CancellableContext context;
  private Iterator<E> current;
  private Long lastCursor;
  private int failures;
  private boolean closed;

  EventIterator(
      Function<Long, Iterator<E>> open,
      ToLongFunction<E> cursorOf,
      boolean grouped,
      ReconnectPolicy policy) {
    this.open = open;
    this.cursorOf = cursorOf;
    this.grouped = grouped;
    this.policy = policy;
  }

  /**
   * Blocks until an event is there (true) or the server ended the stream (false).
   *
   * @throws GatewayException when the stream failed, after the reconnects the policy allows
   */
  @Override
  public boolean hasNext() {
    while (!closed) {
      if (current == null) {
        Long after = grouped ? null : lastCursor;
        context = Context.current().withCancellation();
        Context previous = context.attach();
        try {
          current = open.apply(after); // the call belongs to `context`: close() cancels it
        } finally {
          context.detach(previous);
        }
      }
      try {
        return current.hasNext();
      } catch (StatusRuntimeException error) {
        reconnectOrThrow(error);
      }
    }
    throw new IllegalStateException("the stream is closed");
  }

  @Override
  public E next() {
    if (!hasNext()) {
      throw new NoSuchElementException("the server ended the stream");
    }
    E event = current.next();
    failures = 0;
    lastCursor = cursorOf.applyAsLong(event);
    return event;
  }

  /** The cursor of the last event returned (resume after it later), or 0. */
  public long lastCursor() {
    return lastCursor == null ? 0 : lastCursor;
  }

  private void reconnectOrThrow(StatusRuntimeException error) {
    context.cancel(null);
    current = null;
    GatewayException failure = GatewayException.from(error, "");
    failures++;
    if (closed || failure.code() != Status.Code.UNAVAILABLE || failures >= policy.maxAttempts()) {
      throw failure;
    }
    Duration wait = policy.backoff(failures);
    if (failure.retryDelay().isPresent() && failure.retryDelay().get().compareTo(wait) > 0) {
      wait = failure.retryDelay().get();
    }
    try {
      Thread.sleep(wait.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure;
    }
  }

  /** Ends the stream's call now. */
  @Override
  public void close() {
    closed = true;
    if (context != null) {
      context.cancel(null);
    }
  }
}
