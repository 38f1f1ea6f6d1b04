package dev.atrium.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.onnx.audio.AudioDecoder;
import dev.atrium.engine.onnx.audio.AudioSegmenter;
import dev.atrium.engine.onnx.audio.AudioWindow;
import dev.atrium.engine.onnx.audio.DecodedAudio;
import dev.atrium.engine.onnx.audio.TranscriptionPipeline;
import dev.atrium.engine.onnx.audio.VoiceActivity;
import dev.atrium.engine.onnx.audio.WhisperModel;
import dev.atrium.engine.onnx.audio.WhisperOptions;
import dev.atrium.engine.onnx.image.ClassificationOutput;
import dev.atrium.engine.onnx.image.DecodedImage;
import dev.atrium.engine.onnx.image.ImageClassifier;
import dev.atrium.engine.onnx.image.ImageDecoder;
import dev.atrium.engine.onnx.image.ImagePreprocessing;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Speech and image throughput, in process (the engine's own audio and image components on ONNX Runtime, no server)
 * and through the server ({@code /v1/audio/transcriptions}, {@code /v1/classifications}), each mode printing one
 * key=value line. Usage:
 * <pre>
 *   TaskBench recording OUT.wav CLIP_DIR ROUNDS               a recording of the LibriVox clips with silences
 *   TaskBench speech-inprocess WHISPER VAD AUDIO SECONDS THREADS
 *   TaskBench speech-server URL KEY MODEL AUDIO SECONDS CONCURRENCY
 *   TaskBench images-inprocess MODEL IMAGE_DIR SECONDS THREADS BATCH
 *   TaskBench images-server URL KEY MODEL IMAGE_DIR SECONDS CONCURRENCY BATCH
 * </pre>
 * In process, the windows of each recording run on THREADS threads sharing one session of one intra-op thread, as
 * the server's instances do; images run in batches of BATCH per thread, decoding and preprocessing included.
 */
public final class TaskBench {
    private TaskBench() {}

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "recording" -> recording(Path.of(args[1]), Path.of(args[2]), Integer.parseInt(args[3]));
            case "speech-inprocess" -> speechInProcess(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]),
                    Integer.parseInt(args[4]), Integer.parseInt(args[5]));
            case "speech-server" -> speechServer(args[1], args[2], args[3], Path.of(args[4]), Integer.parseInt(args[5]),
                    Integer.parseInt(args[6]));
            case "images-inprocess" -> imagesInProcess(Path.of(args[1]), Path.of(args[2]), Integer.parseInt(args[3]),
                    Integer.parseInt(args[4]), Integer.parseInt(args[5]));
            case "images-server" -> imagesServer(args[1], args[2], args[3], Path.of(args[4]), Integer.parseInt(args[5]),
                    Integer.parseInt(args[6]), Integer.parseInt(args[7]));
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    // ---- speech -------------------------------------------------------------------------------------------------

    private static void recording(Path out, Path clips, int rounds) throws Exception {
        List<Path> wavs;
        try (Stream<Path> files = Files.list(clips)) {
            wavs = files.filter(file -> file.toString().endsWith(".wav")).sorted().toList();
        }
        ByteArrayOutputStream pcm = new ByteArrayOutputStream();
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < wavs.size(); i++) {
                byte[] wav = Files.readAllBytes(wavs.get(i));
                pcm.write(wav, 44, wav.length - 44); // 16 kHz 16-bit mono, a 44-byte header
                pcm.write(new byte[(7 + (round + i) % 9) * 3200]);
            }
        }
        byte[] data = pcm.toByteArray();
        ByteBuffer header = ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN);
        header.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + data.length)
                .put("WAVEfmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 1)
                .putInt(16_000).putInt(32_000).putShort((short) 2).putShort((short) 16)
                .put("data".getBytes(StandardCharsets.US_ASCII)).putInt(data.length);
        try (var file = Files.newOutputStream(out)) {
            file.write(header.array());
            file.write(data);
        }
        System.out.printf("recording=%s seconds=%.1f%n", out, data.length / 32_000.0);
    }

    private static void speechInProcess(Path whisperPath, Path vadPath, Path audioPath, int seconds, int threads)
            throws Exception {
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        DecodedAudio audio = new AudioDecoder(Duration.ofHours(1)).decode(Files.readAllBytes(audioPath));
        try (WhisperModel whisper = WhisperModel.open(environment, whisperPath, 1);
                VoiceActivity vad = VoiceActivity.open(environment, vadPath)) {
            TranscriptionPipeline pipeline = new TranscriptionPipeline(whisper,
                    AudioSegmenter.atSilences(vad, AudioSegmenter.Settings.DEFAULT));
            transcribe(pipeline, audio, threads); // warm-up
            long start = System.nanoTime();
            long end = start + seconds * 1_000_000_000L;
            int recordings = 0;
            do {
                transcribe(pipeline, audio, threads);
                recordings++;
            } while (System.nanoTime() < end);
            double wall = (System.nanoTime() - start) / 1e9;
            System.out.printf("mode=speech-inprocess threads=%d recordings=%d audio_seconds=%.1f wall_seconds=%.2f"
                    + " audio_seconds_per_second=%.2f%n", threads, recordings, recordings * audio.durationSeconds(),
                    wall, recordings * audio.durationSeconds() / wall);
        }
    }

    /** One recording: its windows planned by the VAD, then transcribed on the threads, each taking the next. */
    private static void transcribe(TranscriptionPipeline pipeline, DecodedAudio audio, int threads)
            throws InterruptedException {
        List<AudioWindow> windows = pipeline.windows(audio);
        AtomicLong next = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(Thread.ofPlatform().start(() -> {
                for (long i = next.getAndIncrement(); i < windows.size(); i = next.getAndIncrement()) {
                    AudioWindow window = windows.get((int) i);
                    pipeline.whisper().transcribe(audio.samples(), window.startSample(), window.endSample(),
                            WhisperOptions.DEFAULT);
                }
            }));
        }
        for (Thread worker : workers) {
            worker.join();
        }
    }

    private static void speechServer(String url, String key, String model, Path audioPath, int seconds,
            int concurrency) throws Exception {
        byte[] audio = Files.readAllBytes(audioPath);
        double audioSeconds = (audio.length - 44) / 32_000.0;
        String boundary = "atrium-bench-boundary";
        ByteArrayOutputStream form = new ByteArrayOutputStream();
        form.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + model
                + "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                + "Content-Type: audio/wav\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        form.writeBytes(audio);
        form.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/v1/audio/transcriptions"))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .timeout(Duration.ofMinutes(5))
                .POST(HttpRequest.BodyPublishers.ofByteArray(form.toByteArray())).build();
        Result result = load(request, seconds, concurrency, 1);
        System.out.printf("mode=speech-server concurrency=%d recordings=%d audio_seconds=%.1f wall_seconds=%.2f"
                + " audio_seconds_per_second=%.2f failures=%d%n", concurrency, result.requests(),
                result.requests() * audioSeconds, result.wallSeconds(), result.requests() * audioSeconds
                        / result.wallSeconds(), result.failures());
    }

    // ---- images -------------------------------------------------------------------------------------------------

    private static List<byte[]> photos(Path directory) throws Exception {
        try (Stream<Path> files = Files.list(directory)) {
            List<byte[]> photos = new ArrayList<>();
            for (Path file : files.filter(path -> path.toString().endsWith(".jpg")).sorted().toList()) {
                photos.add(Files.readAllBytes(file));
            }
            return photos;
        }
    }

    private static void imagesInProcess(Path model, Path directory, int seconds, int threads, int batch)
            throws Exception {
        List<byte[]> photos = photos(directory);
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        try (OrtSession session = environment.createSession(model.toString(), options)) {
            List<TensorSpec> inputs = List.of(new TensorSpec("input", dev.atrium.engine.DataType.FP32,
                    List.of(-1L, 3L, 224L, 224L)));
            List<TensorSpec> outputs = List.of(
                    new TensorSpec("logits", dev.atrium.engine.DataType.FP32, List.of(-1L, 3L)),
                    new TensorSpec("probs", dev.atrium.engine.DataType.FP32, List.of(-1L, 3L)));
            Map<String, String> metadata = session.getMetadata().getCustomMetadata();
            var config = JsonNodeFactory.instance.objectNode();
            config.putObject("preprocessing").put("antialias", false);
            ImageClassifier classifier = new ImageClassifier(environment, session,
                    ImagePreprocessing.fromConfig(config, inputs, metadata),
                    ClassificationOutput.fromConfig(config, outputs, metadata));
            ImageDecoder decoder = new ImageDecoder(40_000_000L);
            Runnable oneBatch = new Runnable() {
                private final AtomicLong next = new AtomicLong();

                @Override
                public void run() {
                    List<DecodedImage> images = new ArrayList<>(batch);
                    for (int i = 0; i < batch; i++) {
                        images.add(decoder.decode(photos.get((int) (next.getAndIncrement() % photos.size())), "file"));
                    }
                    classifier.classify(images, 3);
                }
            };
            for (int i = 0; i < 5; i++) {
                oneBatch.run(); // warm-up
            }
            AtomicLong done = new AtomicLong();
            long start = System.nanoTime();
            long end = start + seconds * 1_000_000_000L;
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                workers.add(Thread.ofPlatform().start(() -> {
                    while (System.nanoTime() < end) {
                        oneBatch.run();
                        done.addAndGet(batch);
                    }
                }));
            }
            for (Thread worker : workers) {
                worker.join();
            }
            double wall = (System.nanoTime() - start) / 1e9;
            System.out.printf("mode=images-inprocess threads=%d batch=%d images=%d wall_seconds=%.2f"
                    + " images_per_second=%.1f%n", threads, batch, done.get(), wall, done.get() / wall);
        }
    }

    private static void imagesServer(String url, String key, String model, Path directory, int seconds,
            int concurrency, int batch) throws Exception {
        List<byte[]> photos = photos(directory);
        String boundary = "atrium-bench-boundary";
        ByteArrayOutputStream form = new ByteArrayOutputStream();
        form.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + model
                + "\r\n").getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < batch; i++) {
            form.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p" + i
                    + ".jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            form.writeBytes(photos.get(i % photos.size()));
            form.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        form.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/v1/classifications"))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .timeout(Duration.ofMinutes(1))
                .POST(HttpRequest.BodyPublishers.ofByteArray(form.toByteArray())).build();
        load(request, 3, concurrency, batch); // warm-up
        Result result = load(request, seconds, concurrency, batch);
        System.out.printf("mode=images-server concurrency=%d batch=%d images=%d wall_seconds=%.2f"
                + " images_per_second=%.1f failures=%d%n", concurrency, batch, result.requests() * batch,
                result.wallSeconds(), result.requests() * batch / result.wallSeconds(), result.failures());
    }

    // ---- load ---------------------------------------------------------------------------------------------------

    private record Result(long requests, long failures, double wallSeconds) {}

    /** The same request from CONCURRENCY clients, each sending its next when its last is answered, for SECONDS. */
    private static Result load(HttpRequest request, int seconds, int concurrency, int batch) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long start = System.nanoTime();
        long end = start + seconds * 1_000_000_000L;
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            clients.add(Thread.ofVirtual().start(() -> {
                do {
                    try {
                        HttpResponse<byte[]> response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
                        (response.statusCode() == 200 ? ok : failed).incrementAndGet();
                    } catch (Exception e) {
                        failed.incrementAndGet();
                    }
                } while (System.nanoTime() < end);
            }));
        }
        for (Thread thread : clients) {
            thread.join();
        }
        return new Result(ok.get(), failed.get(), (System.nanoTime() - start) / 1e9);
    }
}
