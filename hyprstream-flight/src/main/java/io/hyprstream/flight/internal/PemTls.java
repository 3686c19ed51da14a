package io.hyprstream.flight.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A server {@link SSLContext} from the same PEM files the Flight SQL port uses ({@code tls.cert},
 * the chain with the server's certificate first, and {@code tls.key}, an unencrypted PKCS#8 key),
 * so the HTTP port serves HTTPS with the server's one certificate.
 */
public final class PemTls {
  private PemTls() {}

  /**
   * The context for {@code certChain} and {@code privateKey}.
   *
   * @throws IllegalArgumentException naming the file that cannot be read or parsed
   */
  public static SSLContext serverContext(Path certChain, Path privateKey) {
    List<? extends Certificate> chain;
    try (InputStream in = Files.newInputStream(certChain)) {
      chain = List.copyOf(CertificateFactory.getInstance("X.509").generateCertificates(in));
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "cannot read the TLS certificate chain " + certChain + ": " + e.getMessage(), e);
    }
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("the TLS certificate chain " + certChain + " is empty");
    }
    PrivateKey key = privateKey(privateKey);
    try {
      char[] password = new char[0];
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("server", key, password, chain.toArray(new Certificate[0]));
      KeyManagerFactory keys =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(store, password);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys.getKeyManagers(), null, new SecureRandom());
      return context;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "cannot use " + certChain + " and " + privateKey + " for TLS: " + e.getMessage(), e);
    }
  }

  private static PrivateKey privateKey(Path file) {
    String pem;
    try {
      pem = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the TLS private key " + file, e);
    }
    String begin = "-----BEGIN PRIVATE KEY-----";
    int start = pem.indexOf(begin);
    int end = pem.indexOf("-----END PRIVATE KEY-----");
    if (start < 0 || end < start) {
      throw new IllegalArgumentException(
          "the TLS private key "
              + file
              + " is not an unencrypted PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----)");
    }
    byte[] der = Base64.getMimeDecoder().decode(pem.substring(start + begin.length(), end));
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448")) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (GeneralSecurityException wrongAlgorithm) {
        // Try the next: PKCS#8 names its algorithm inside, which KeyFactory wants named outside.
      }
    }
    throw new IllegalArgumentException(
        "the TLS private key " + file + " is not an RSA, EC or EdDSA PKCS#8 key");
  }
}
