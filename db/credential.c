// SPDX-License-Identifier: MIT
/*
 * credential.c - passwords and random secrets, with libsodium: Argon2id
 * strings (their limits are in the string, so a hash made with the test
 * suite's low limits still verifies, and raising the limits needs no
 * migration), and 256-bit tokens kept only as their BLAKE2b hash.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"

/*
 * Each Argon2id run takes its memory limit (64 MiB) and a core: at most one
 * per core at once (two at least), so that a burst of logins at the start
 * of a lab neither takes the server's memory nor starves its other work.
 */
static int max_kdf_runs(void)
{
	static int n;

	if (!n) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		n = cpus > 2 ? (cpus > 64 ? 64 : (int)cpus) : 2;
	}
	return n;
}

static pthread_mutex_t kdf_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kdf_free = PTHREAD_COND_INITIALIZER;
static int kdf_runs;

static void kdf_enter(void)
{
	pthread_mutex_lock(&kdf_lock);
	while (kdf_runs >= max_kdf_runs())
		pthread_cond_wait(&kdf_free, &kdf_lock);
	kdf_runs++;
	pthread_mutex_unlock(&kdf_lock);
}

static void kdf_leave(void)
{
	pthread_mutex_lock(&kdf_lock);
	kdf_runs--;
	pthread_cond_signal(&kdf_free);
	pthread_mutex_unlock(&kdf_lock);
}

static bool fast_kdf(void)
{
	const char *v = getenv("RMAPD_TEST_FAST_KDF");

	return v && !strcmp(v, "1");
}

int auth_password_hash(const char *password, char out[AUTH_PWHASH_MAX])
{
	unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	int rc;

	if (sodium_init() < 0)
		return -1;
	if (fast_kdf()) {
		ops = crypto_pwhash_OPSLIMIT_MIN;
		mem = crypto_pwhash_MEMLIMIT_MIN;
	}
	kdf_enter();
	rc = crypto_pwhash_str_alg(out, password, strlen(password), ops, mem,
				   crypto_pwhash_ALG_ARGON2ID13);
	kdf_leave();
	return rc ? -1 : 0;
}

bool auth_password_ok(const char *stored, const char *password)
{
	bool ok;

	if (!stored || !stored[0] || sodium_init() < 0)
		return false;
	kdf_enter();
	ok = !crypto_pwhash_str_verify(stored, password, strlen(password));
	kdf_leave();
	return ok;
}

void auth_secret_hash(const char *text, unsigned char hash[AUTH_HASH_LEN])
{
	static const char domain[] = "rmapd-secret-v1";
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, AUTH_HASH_LEN);
	crypto_generichash_update(&h, (const unsigned char *)domain,
				  sizeof(domain));
	crypto_generichash_update(&h, (const unsigned char *)text, strlen(text));
	crypto_generichash_final(&h, hash, AUTH_HASH_LEN);
}

void auth_secret_new(const char *prefix, char *text, size_t len,
		     unsigned char hash[AUTH_HASH_LEN])
{
	unsigned char raw[AUTH_SECRET_LEN];
	char b64[AUTH_SECRET_TEXT];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	snprintf(text, len, "%s%s", prefix, b64);
	auth_secret_hash(text, hash);
}

void auth_password_generate(char out[24])
{
	/* no 0/O, 1/l/I: read aloud or copied from a printed roster */
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz"
				       "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	int i;

	for (i = 0; i < 20; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[20] = '\0';
}
