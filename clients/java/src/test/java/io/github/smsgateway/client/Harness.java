package io.github.smsgateway.client;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Runs clients/conformance/gateway.py: a live {@code smsgateway serve} on the sandbox. */
final class Harness implements AutoCloseable {
  static final Path REPO = Path.of("..", "..").toAbsolutePath().normalize();

  private final Process process;
  private final Writer stdin;
  private final BlockingQueue<String> lines = new ArrayBlockingQueue<>(16);
  String grpcTarget;
  String sandboxUrl;
  String apiKey;

  private Harness(Process process) {
    this.process = process;
    this.stdin = process.outputWriter(StandardCharsets.UTF_8);
    Thread reader = new Thread(() -> {
      try (BufferedReader out = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = out.readLine()) != null; ) {
          lines.put(line);
        }
      } catch (IOException | InterruptedException e) {
        // the harness exited
      }
      lines.offer("");
    });
    reader.setDaemon(true);
    reader.start();
  }

  static Harness start(String... args) throws Exception {
    String python = System.getenv().getOrDefault(
        "SMSGW_CONFORMANCE_PYTHON", REPO.resolve(".venv/bin/python").toString());
    List<String> command = new ArrayList<>(
        List.of(python, REPO.resolve("clients/conformance/gateway.py").toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    Harness harness = new Harness(process);
    harness.read();
    return harness;
  }

  private void read() throws Exception {
    String line = lines.poll(90, TimeUnit.SECONDS);
    if (line == null || line.isEmpty()) {
      throw new IllegalStateException("the gateway harness did not answer");
    }
    Struct.Builder info = Struct.newBuilder();
    JsonFormat.parser().merge(line, info);
    grpcTarget = info.getFieldsOrThrow("grpc_target").getStringValue();
    sandboxUrl = info.getFieldsOrThrow("sandbox_url").getStringValue();
    Value key = info.getFieldsOrThrow("api_key");
    apiKey = key.hasStringValue() ? key.getStringValue() : null;
  }

  /** Stops the gateway (its streams end with UNAVAILABLE) and starts it again. */
  void restart() throws Exception {
    stdin.write("restart\n");
    stdin.flush();
    read();
  }

  void sandbox(String path, String json) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(sandboxUrl + path))
        .timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json))
        .build();
    HttpResponse<String> response =
        HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("sandbox " + path + ": HTTP " + response.statusCode() + ": " + response.body());
    }
  }

  /** Polls every 50 ms until check gives a value, failing after limit. */
  static <T> T eventually(Duration limit, String what, Supplier<T> check) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      T value;
      try {
        value = check.get();
      } catch (GatewayException e) {
        value = null;
      }
      if (value != null) {
        return value;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + limit + ": " + what);
      }
      Thread.sleep(50);
    }
  }

  @Override
  public void close() throws Exception {
    stdin.close();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
