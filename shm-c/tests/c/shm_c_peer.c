/* A C program on shm topics, for the tests of the C API (shm-c/tests/c_api.rs and
 * python/tests/test_c.py), which run it as a separate process:
 *
 *   shm_c_peer pub TOPIC N       publishes Reading {i, i * 0.5, i % 2 == 0} for i = 1..N, then
 *                                waits for a line on stdin (so the topic stays live) and exits
 *   shm_c_peer sub TOPIC N       receives N new Readings (10 s each) and prints each as
 *                                "GOT <id> <value> <ok> seq=<seq>"
 *   shm_c_peer scalar TOPIC      prints the newest u64 of TOPIC: "VALUE <v>" or "NO DATA"
 *   shm_c_peer checks TOPIC      the API's refusals, printed "OK <what>" or "FAIL <what>"
 *
 * Reading is the struct
 *   struct Reading { double value; uint32_t id; bool ok; uint8_t _reserved[3]; };
 * as Rust's #[derive(ShmMessage)] and Python's Message class of those fields describe it. */

#include <shm/shm.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Reading {
    double value;
    uint32_t id;
    bool ok;
    uint8_t _reserved[3];
};

static int failed(const char *what, shm_status status) {
    printf("ERR %s: %s: %s\n", what, shm_status_name(status), shm_last_error_message());
    fflush(stdout);
    return 1;
}

#define CHECK(call, what)                    \
    do {                                     \
        shm_status s_ = (call);              \
        if (s_ != SHM_OK) return failed(what, s_); \
    } while (0)

/* The schema of struct Reading, built field by field. */
static shm_status reading_schema(shm_schema **out) {
    shm_schema *f64 = NULL, *u32 = NULL, *b = NULL, *u8 = NULL, *pad = NULL;
    shm_struct_builder *builder = NULL;
    shm_status s = shm_schema_primitive(SHM_F64, &f64);
    if (s == SHM_OK) s = shm_schema_primitive(SHM_U32, &u32);
    if (s == SHM_OK) s = shm_schema_primitive(SHM_BOOL, &b);
    if (s == SHM_OK) s = shm_schema_primitive(SHM_U8, &u8);
    if (s == SHM_OK) s = shm_schema_array(u8, 3, &pad);
    if (s == SHM_OK) s = shm_struct_builder_new("Reading", &builder);
    if (s == SHM_OK) s = shm_struct_builder_add(builder, "value", f64);
    if (s == SHM_OK) s = shm_struct_builder_add(builder, "id", u32);
    if (s == SHM_OK) s = shm_struct_builder_add(builder, "ok", b);
    if (s == SHM_OK) s = shm_struct_builder_add(builder, "_reserved", pad);
    if (s == SHM_OK) {
        s = shm_struct_builder_finish(builder, out);
        builder = NULL;
    }
    shm_struct_builder_drop(builder);
    shm_schema_drop(f64);
    shm_schema_drop(u32);
    shm_schema_drop(b);
    shm_schema_drop(u8);
    shm_schema_drop(pad);
    return s;
}

static int publish(const char *topic, long n) {
    shm_schema *schema = NULL;
    shm_publisher *pub = NULL;
    CHECK(reading_schema(&schema), "schema");
    if (shm_schema_size(schema) != sizeof(struct Reading)) {
        printf("ERR size %zu != %zu\n", shm_schema_size(schema), sizeof(struct Reading));
        return 1;
    }
    CHECK(shm_publisher_new(topic, schema, NULL, &pub), "publisher");
    for (long i = 1; i <= n; i++) {
        struct Reading r;
        memset(&r, 0, sizeof r);
        r.value = (double)i * 0.5;
        r.id = (uint32_t)i;
        r.ok = i % 2 == 0;
        uint64_t seq = 0;
        CHECK(shm_publish(pub, &r, sizeof r, &seq), "publish");
    }
    printf("PUBLISHED %ld\n", n);
    fflush(stdout);
    char line[16];
    (void)fgets(line, sizeof line, stdin);
    shm_publisher_drop(pub);
    shm_schema_drop(schema);
    return 0;
}

static int subscribe(const char *topic, long n) {
    shm_schema *schema = NULL;
    shm_subscriber *sub = NULL;
    CHECK(reading_schema(&schema), "schema");
    CHECK(shm_subscriber_new(topic, schema, NULL, &sub), "subscriber");
    printf("READY\n");
    fflush(stdout);
    for (long got = 0; got < n;) {
        struct Reading r;
        shm_sample_info info;
        shm_status s = shm_subscriber_recv_timeout(sub, &r, sizeof r, 10000000000ull, &info);
        if (s == SHM_TIMEOUT) {
            printf("TIMEOUT\n");
            return 1;
        }
        if (s == SHM_PUBLISHER_GONE) continue; /* its last values are read first */
        if (s != SHM_OK) return failed("recv", s);
        printf("GOT %" PRIu32 " %.1f %d seq=%" PRIu64 "\n", r.id, r.value, r.ok ? 1 : 0, info.seq);
        fflush(stdout);
        got++;
    }
    shm_subscriber_drop(sub);
    shm_schema_drop(schema);
    return 0;
}

static int scalar(const char *topic) {
    shm_schema *u64 = NULL;
    shm_subscriber *sub = NULL;
    CHECK(shm_schema_primitive(SHM_U64, &u64), "schema");
    CHECK(shm_subscriber_new(topic, u64, NULL, &sub), "subscriber");
    uint64_t v = 0;
    shm_status s = shm_subscriber_latest(sub, &v, sizeof v, NULL);
    if (s == SHM_OK) {
        printf("VALUE %" PRIu64 "\n", v);
    } else if (s == SHM_NO_DATA) {
        printf("NO DATA\n");
    } else {
        return failed("latest", s);
    }
    shm_subscriber_drop(sub);
    shm_schema_drop(u64);
    return 0;
}

static void expect(bool ok, const char *what) {
    printf("%s %s\n", ok ? "OK" : "FAIL", what);
}

/* The refusals: each prints OK when the API refused as documented. */
static int checks(const char *topic) {
    shm_schema *reading = NULL, *u64 = NULL, *u32 = NULL, *b = NULL;
    CHECK(reading_schema(&reading), "schema");
    CHECK(shm_schema_primitive(SHM_U64, &u64), "u64");
    CHECK(shm_schema_primitive(SHM_U32, &u32), "u32");
    CHECK(shm_schema_primitive(SHM_BOOL, &b), "bool");

    /* Padding: a bool then a u32 leaves 3 bytes, named in the message. */
    shm_struct_builder *builder = NULL;
    shm_schema *padded = NULL;
    CHECK(shm_struct_builder_new("Padded", &builder), "builder");
    CHECK(shm_struct_builder_add(builder, "flag", b), "add flag");
    CHECK(shm_struct_builder_add(builder, "count", u32), "add count");
    shm_status s = shm_struct_builder_finish(builder, &padded);
    expect(s == SHM_ERR_LAYOUT && padded == NULL &&
               strstr(shm_last_error_message(), "3 byte(s) of padding after field `flag`"),
           "padding refused, naming the field and the bytes");

    /* A subscriber of another type than the topic's: the field diff. */
    shm_publisher *pub = NULL;
    CHECK(shm_publisher_new(topic, reading, NULL, &pub), "publisher");
    shm_subscriber *wrong = NULL;
    s = shm_subscriber_new(topic, u64, NULL, &wrong);
    expect(s == SHM_ERR_SCHEMA_MISMATCH && wrong == NULL && strstr(shm_last_error_message(), "Reading"),
           "a subscriber of another type refused, naming the topic's type");

    /* A second live publisher of the topic. */
    shm_publisher *second = NULL;
    s = shm_publisher_new(topic, reading, NULL, &second);
    expect(s == SHM_ERR_TOPIC_BUSY && second == NULL, "a second publisher refused as busy");

    /* Wrong sizes, null pointers, bad names, invalid values. */
    uint64_t x = 1;
    s = shm_publish(pub, &x, sizeof x, NULL);
    expect(s == SHM_ERR_INVALID_ARGUMENT && strstr(shm_last_error_message(), "16"),
           "a value of the wrong size refused, naming the type's size");
    expect(strcmp(shm_status_name(SHM_ERR_TOPIC_BUSY), "SHM_ERR_TOPIC_BUSY") == 0 &&
               strcmp(shm_status_name(42), "SHM_UNKNOWN") == 0,
           "status names, and a value that is no status");
    s = shm_publish(NULL, &x, sizeof x, NULL);
    expect(s == SHM_ERR_INVALID_ARGUMENT && strstr(shm_last_error_message(), "NULL"), "a NULL publisher refused");
    struct Reading r;
    memset(&r, 0, sizeof r);
    memset(&r.ok, 7, 1);
    s = shm_publish(pub, &r, sizeof r, NULL);
    expect(s == SHM_ERR_INVALID_VALUE, "a bool that is neither 0 nor 1 refused");
    shm_publisher *bad = NULL;
    s = shm_publisher_new("bad name with spaces", u64, NULL, &bad);
    expect(s == SHM_ERR_INVALID_NAME && bad == NULL, "an invalid topic name refused");
    s = shm_publisher_new(topic, NULL, NULL, &bad);
    expect(s == SHM_ERR_INVALID_ARGUMENT, "a NULL schema refused");
    shm_schema *nothing = NULL;
    s = shm_schema_primitive(99, &nothing);
    expect(s == SHM_ERR_INVALID_ARGUMENT && nothing == NULL, "a kind that is no primitive refused");
    shm_subscriber_options odd = {NULL, 7, 0};
    shm_subscriber *nobody = NULL;
    s = shm_subscriber_new(topic, u64, &odd, &nobody);
    expect(s == SHM_ERR_INVALID_ARGUMENT && nobody == NULL, "an owner that is no shm_owner refused");

    /* Reading back what was published, and the freshness. */
    r.ok = true;
    r.id = 42;
    CHECK(shm_publish(pub, &r, sizeof r, NULL), "publish");
    shm_subscriber *sub = NULL;
    CHECK(shm_subscriber_new(topic, reading, NULL, &sub), "subscriber");
    struct Reading back;
    shm_sample_info info;
    s = shm_subscriber_latest(sub, &back, sizeof back, &info);
    expect(s == SHM_OK && back.id == 42 && info.is_new, "latest reads the value, new");
    s = shm_subscriber_latest(sub, &back, sizeof back, &info);
    expect(s == SHM_OK && !info.is_new, "latest again: the same value, not new");
    s = shm_subscriber_try_recv(sub, &back, sizeof back, &info);
    expect(s == SHM_NO_DATA, "try_recv: nothing newer");
    s = shm_subscriber_recv_timeout(sub, &back, sizeof back, 1000000ull, &info);
    expect(s == SHM_TIMEOUT, "recv_timeout ends at its timeout");
    r.id = 77;
    CHECK(shm_publish(pub, &r, sizeof r, NULL), "publish");
    s = shm_subscriber_try_recv(sub, &back, sizeof back, &info);
    expect(s == SHM_OK && back.id == 77 && info.is_new && info.missed == 0, "try_recv: the new value");
    bool alive = false;
    s = shm_subscriber_publisher_alive(sub, &alive);
    expect(s == SHM_OK && alive, "the publisher is alive");
    for (uint32_t i = 0; i < 2; i++) {
        r.id = 100 + i;
        CHECK(shm_publish(pub, &r, sizeof r, NULL), "publish");
    }
    struct Reading all[1];
    shm_sample_info infos[1];
    size_t count = 0;
    s = shm_subscriber_recv_all(sub, all, 1, sizeof all[0] - 1, infos, &count);
    expect(s == SHM_ERR_INVALID_ARGUMENT, "recv_all: a buffer of the wrong size refused");
    s = shm_subscriber_recv_all(sub, all, 1, sizeof all[0], infos, &count);
    expect(s == SHM_OK && count == 1 && all[0].id == 100, "recv_all: the first of two (nothing lost to the refusal)");
    s = shm_subscriber_recv_all(sub, all, 1, sizeof all[0], infos, &count);
    expect(s == SHM_OK && count == 1 && all[0].id == 101, "recv_all: the second, kept for the next call");
    s = shm_subscriber_recv_all(sub, all, 1, sizeof all[0], infos, &count);
    expect(s == SHM_OK && count == 0, "recv_all: none left");
    /* A value a refused try_recv did not take, and values recv_all kept, read in order by
     * try_recv. */
    for (uint32_t i = 0; i < 3; i++) {
        r.id = 200 + i;
        CHECK(shm_publish(pub, &r, sizeof r, NULL), "publish");
    }
    uint64_t small = 0;
    s = shm_subscriber_try_recv(sub, &small, sizeof small, &info);
    expect(s == SHM_ERR_INVALID_ARGUMENT, "try_recv: a buffer of the wrong size refused");
    s = shm_subscriber_recv_all(sub, all, 1, sizeof all[0], infos, &count);
    expect(s == SHM_OK && count == 1 && all[0].id == 200, "recv_all: the first of three, not lost to the refusal");
    s = shm_subscriber_try_recv(sub, &back, sizeof back, &info);
    expect(s == SHM_OK && back.id == 201, "try_recv: the second, kept by recv_all");
    s = shm_subscriber_recv_timeout(sub, &back, sizeof back, 1000000ull, &info);
    expect(s == SHM_OK && back.id == 202, "recv_timeout: the third, kept by recv_all");
    s = shm_subscriber_try_recv(sub, &back, sizeof back, &info);
    expect(s == SHM_NO_DATA, "try_recv: none left");
    shm_publisher_drop(pub);
    s = shm_subscriber_publisher_alive(sub, &alive);
    expect(s == SHM_OK && !alive, "the publisher dropped is not alive");
    bool existed = false;
    s = shm_remove_topic(topic, NULL, &existed);
    expect(s == SHM_OK && existed, "the topic removed");

    /* Services: a client without a server, wrong sizes, NULLs; the server side in-process. */
    shm_client *client = NULL;
    shm_server *server = NULL;
    shm_request *request = NULL;
    char service[256];
    snprintf(service, sizeof service, "%s/service", topic);
    CHECK(shm_client_new(service, u64, reading, NULL, &client), "client");
    uint64_t ask = 7;
    struct Reading answer;
    s = shm_client_call(client, &ask, sizeof ask, &answer, sizeof answer, 1000000000ull);
    expect(s == SHM_ERR_NO_SERVER && strstr(shm_last_error_message(), "no server runs"),
           "a call without a server is SHM_ERR_NO_SERVER");
    s = shm_client_call(client, &ask, 4, &answer, sizeof answer, 1000000000ull);
    expect(s == SHM_ERR_INVALID_ARGUMENT, "a request of the wrong size is refused");
    s = shm_client_call(client, &ask, sizeof ask, NULL, sizeof answer, 1000000000ull);
    expect(s == SHM_ERR_INVALID_ARGUMENT, "a NULL reply buffer is refused");
    CHECK(shm_server_new(service, u64, reading, NULL, &server), "server");
    shm_server *second_server = NULL;
    s = shm_server_new(service, u64, reading, NULL, &second_server);
    expect(s == SHM_ERR_TOPIC_BUSY && second_server == NULL, "a second server is SHM_ERR_TOPIC_BUSY");
    s = shm_server_recv_timeout(server, &ask, sizeof ask, 1000000ull, &request);
    expect(s == SHM_TIMEOUT && request == NULL, "no request within the timeout");
    s = shm_server_try_recv(server, &ask, 2, &request);
    expect(s == SHM_ERR_INVALID_ARGUMENT, "a request buffer of the wrong size is refused");
    s = shm_request_reply(NULL, &answer, sizeof answer);
    expect(s == SHM_ERR_INVALID_ARGUMENT, "replying to NULL is refused");
    expect(strcmp(shm_status_name(SHM_ERR_NO_REPLY), "SHM_ERR_NO_REPLY") == 0, "the new statuses have names");
    shm_request_drop(NULL);
    shm_server_drop(server);
    shm_client_drop(client);
    shm_server_drop(NULL);
    shm_client_drop(NULL);

#ifdef SHM_TESTING
    s = shm_testing_panic();
    expect(s == SHM_ERR_PANIC && strstr(shm_last_error_message(), "on purpose"),
           "a panic inside is SHM_ERR_PANIC, not an unwind");
#endif

    /* Drops accept NULL. */
    shm_subscriber_drop(NULL);
    shm_publisher_drop(NULL);
    shm_schema_drop(NULL);
    shm_struct_builder_drop(NULL);
    shm_subscriber_drop(sub);
    shm_schema_drop(reading);
    shm_schema_drop(u64);
    shm_schema_drop(u32);
    shm_schema_drop(b);
    printf("DONE\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "pub") == 0) return publish(argv[2], strtol(argv[3], NULL, 10));
    if (argc >= 4 && strcmp(argv[1], "sub") == 0) return subscribe(argv[2], strtol(argv[3], NULL, 10));
    if (argc >= 3 && strcmp(argv[1], "scalar") == 0) return scalar(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "checks") == 0) return checks(argv[2]);
    fprintf(stderr, "usage: shm_c_peer pub|sub TOPIC N | scalar TOPIC | checks TOPIC\n");
    return 2;
}
