package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.apache.hadoop.crypto.OpensslCipher;
import org.apache.hadoop.util.NativeCodeLoader;
import org.junit.Test;

/**
 * HADOOP-14597: OpensslCipher.c reads EVP_CIPHER_CTX's fields and loads
 * EVP_CIPHER_CTX_cleanup/_init, and hadoop-pipes keeps an HMAC_CTX on the
 * stack; OpenSSL 1.1 made both structs opaque and dropped those functions, so
 * -Pnative does not build against OpenSSL >= 1.1 (and OpenSSL 3 renamed
 * EVP_CIPHER_CTX_block_size/_encrypting, HADOOP-18583). Built with the fix,
 * the OpenSSL codec loads and encrypts as the JDK's AES/CTR does.
 *
 * Needs the libhadoop.so of the release under test on java.library.path
 * (e.g. -Djava.library.path=hadoop-dist/target/hadoop-X/lib/native) and the
 * libcrypto the library was built against.
 */
public class TestHadoop14597OpensslCipher {

  @Test
  public void opensslCipherLoadsAndEncrypts() throws Exception {
    assertTrue("libhadoop.so not loaded from java.library.path="
        + System.getProperty("java.library.path"),
        NativeCodeLoader.isNativeCodeLoaded());
    assertNull("OpensslCipher failed to load", OpensslCipher.getLoadingFailureReason());

    byte[] key = new byte[16];
    byte[] iv = new byte[16];
    for (int i = 0; i < 16; i++) {
      key[i] = (byte) i;
      iv[i] = (byte) (0xf0 + i);
    }
    byte[] plain = new byte[100];
    for (int i = 0; i < plain.length; i++) {
      plain[i] = (byte) (i * 7);
    }

    OpensslCipher cipher = OpensslCipher.getInstance("AES/CTR/NoPadding");
    cipher.init(OpensslCipher.ENCRYPT_MODE, key, iv);
    ByteBuffer in = ByteBuffer.allocateDirect(plain.length);
    in.put(plain);
    in.flip();
    ByteBuffer out = ByteBuffer.allocateDirect(plain.length);
    // update() and doFinal() check the output room through the cipher
    // context's flags and block size: the code the fix changes.
    int n = cipher.update(in, out);
    n += cipher.doFinal(out);
    assertEquals(plain.length, n);
    out.flip();
    byte[] got = new byte[n];
    out.get(got);
    cipher.clean();

    Cipher jdk = Cipher.getInstance("AES/CTR/NoPadding");
    jdk.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
    assertArrayEquals(jdk.doFinal(plain), got);
  }
}
