package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.atrium.testing.TempDirectories;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** HTTPS from PEM files made here: a request over TLS, HTTP/2 through ALPN, TLS 1.2 at least. */
class TlsTest {
    static {
        // the JDK refuses TLS 1.0 and 1.1 on its own; allowed here, and offered by JDK servers by default (before
        // any TLS use in this JVM), so that the test shows Atrium refusing them itself
        System.setProperty("jdk.tls.server.protocols", "TLSv1.3,TLSv1.2,TLSv1.1");
        String disabled = Security.getProperty("jdk.tls.disabledAlgorithms");
        Security.setProperty("jdk.tls.disabledAlgorithms", Arrays.stream(disabled.split(","))
                .map(String::strip).filter(entry -> !entry.equals("TLSv1") && !entry.equals("TLSv1.1"))
                .collect(Collectors.joining(", ")));
    }

    private static KeyPair keys;
    private static X509Certificate certificate;
    private static SSLContext trusting;
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(256);
        keys = generator.generateKeyPair();
        X500Name name = new X500Name("CN=localhost");
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(1))), name, keys.getPublic());
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
        certificate = new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));

        Path directory = TempDirectories.create("atrium-tls-");
        Path chain = Files.writeString(directory.resolve("chain.pem"), pem("CERTIFICATE", certificate.getEncoded()));
        Path key = Files.writeString(directory.resolve("key.pem"), pem("PRIVATE KEY", keys.getPrivate().getEncoded()));

        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("atrium", certificate);
        TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trust);
        trusting = SSLContext.getInstance("TLS");
        trusting.init(null, trustManagers.getTrustManagers(), null);

        server = TestServer.start(Map.of("preload", "none", "tls-cert", chain.toString(), "tls-key", key.toString(),
                "header-timeout", "1s"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void https_requestIsAnswered_overHttp2ThroughAlpn() throws Exception {
        HttpClient client = HttpClient.newBuilder().sslContext(trusting).version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(uri("/health")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("ok");
        assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(response.sslSession()).hasValueSatisfying(session -> assertThat(session.getProtocol()).isEqualTo("TLSv1.3"));

        // the connection guard follows TLS connections too: past the header timeout, this one is merely idle
        Thread.sleep(1_500);
        HttpResponse<String> models = client.send(HttpRequest.newBuilder(uri("/v1/models"))
                .header("Authorization", "Bearer " + server.adminKey()).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(models.statusCode()).isEqualTo(200);
        assertThat(client.send(HttpRequest.newBuilder(uri("/metrics")).header("Authorization", "Bearer " + server.adminKey())
                .GET().build(), HttpResponse.BodyHandlers.ofString()).body()).doesNotContain("reason=\"header_timeout\"");
    }

    @Test
    void https_tls12_isAccepted() throws Exception {
        SSLParameters tls12 = new SSLParameters();
        tls12.setProtocols(new String[] {"TLSv1.2"});
        HttpClient client = HttpClient.newBuilder().sslContext(trusting).sslParameters(tls12)
                .version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(uri("/health")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.sslSession().orElseThrow().getProtocol()).isEqualTo("TLSv1.2");
    }

    @Test
    void https_tls11_isRefused_whereTheJdkWouldAllowIt() throws Exception {
        assumeTrue(jdkServerAllowsTls11(), "this JVM refuses TLS 1.1 by itself (TLS was used before the test lifted it)");
        try (SSLSocket socket = (SSLSocket) trusting.getSocketFactory().createSocket("127.0.0.1", server.atrium().port())) {
            socket.setEnabledProtocols(new String[] {"TLSv1.1"});
            socket.setSoTimeout(5_000);
            assertThatThrownBy(socket::startHandshake).isInstanceOf(SSLException.class);
        }
    }

    @Test
    void http_plainRequestToTheTlsPort_isNotServed() {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.atrium().port() + "/health")).timeout(Duration.ofSeconds(5))
                        .GET().build(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IOException.class);
    }

    /** Whether a JDK server with the same certificate and its default protocols completes a TLS 1.1 handshake. */
    private static boolean jdkServerAllowsTls11() throws Exception {
        KeyStore identity = KeyStore.getInstance("PKCS12");
        identity.load(null, null);
        identity.setKeyEntry("atrium", keys.getPrivate(), new char[0], new X509Certificate[] {certificate});
        KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(identity, new char[0]);
        SSLContext serving = SSLContext.getInstance("TLS");
        serving.init(keyManagers.getKeyManagers(), null, null);
        try (SSLServerSocket listener = (SSLServerSocket) serving.getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> accepted = CompletableFuture.runAsync(() -> {
                try (SSLSocket peer = (SSLSocket) listener.accept(); InputStream in = peer.getInputStream()) {
                    peer.setSoTimeout(5_000);
                    peer.startHandshake();
                } catch (IOException e) {
                    // the client's side tells
                }
            });
            try (SSLSocket socket = (SSLSocket) trusting.getSocketFactory().createSocket("127.0.0.1", listener.getLocalPort())) {
                socket.setEnabledProtocols(new String[] {"TLSv1.1"});
                socket.setSoTimeout(5_000);
                socket.startHandshake();
                return socket.getSession().getProtocol().equals("TLSv1.1");
            } catch (IOException e) {
                return false;
            } finally {
                accepted.join();
            }
        }
    }

    private static URI uri(String path) {
        return URI.create("https://127.0.0.1:" + server.atrium().port() + path);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
