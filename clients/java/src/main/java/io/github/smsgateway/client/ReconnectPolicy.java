package io.github.smsgateway.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How streams reconnect after UNAVAILABLE: equal-jitter exponential backoff, at least the
 * server's RetryInfo, at most {@code maxAttempts} failed connections in a row.
 *
 * @param maxAttempts connections in a row that may fail before the stream gives up (1: never
 *     reconnect)
 * @param initialBackoff the wait after the first failure, before jitter
 * @param maxBackoff the longest wait, before jitter
 * @param multiplier the growth of the wait per failure
 */
public record ReconnectPolicy(
    int maxAttempts, Duration initialBackoff, Duration maxBackoff, double multiplier) {

  /** Rides out a server restart of several seconds. */
  public static final ReconnectPolicy DEFAULT =
      new ReconnectPolicy(8, Duration.ofMillis(250), Duration.ofSeconds(5), 2.0);

  public ReconnectPolicy {
    if (maxAttempts < 1 || multiplier < 1 || initialBackoff.isNegative()
        || maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException("need maxAttempts >= 1, multiplier >= 1, 0 <= initial <= max");
    }
  }

  Duration backoff(int failures) {
    double ceiling = Math.min(
        maxBackoff.toNanos(), initialBackoff.toNanos() * Math.pow(multiplier, failures - 1));
    return Duration.ofNanos((long) (ceiling / 2 + ThreadLocalRandom.current().nextDouble() * ceiling / 2));
  }
}
