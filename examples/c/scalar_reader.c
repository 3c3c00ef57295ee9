/* Reads a scalar topic in C: prints each new value of an i64, f64 or bool topic, published by
 * any language (the Python `Publisher(name, 0.0)`, the Rust `scalar_publisher`, C++).
 *
 *   build/scalar_reader TOPIC [i64|f64|bool] [COUNT]
 *
 * Prints "#<seq>: <value>" per value; COUNT values (0: until interrupted); exits 3 when none
 * came for 30 s. */
#include <shm/shm.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, shm_status status) {
    fprintf(stderr, "scalar_reader: %s: %s: %s\n", what, shm_status_name(status), shm_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: scalar_reader TOPIC [i64|f64|bool] [COUNT]\n");
        return 2;
    }
    const char *type = argc >= 3 ? argv[2] : "f64";
    const long count = argc >= 4 ? strtol(argv[3], NULL, 10) : 0;
    uint32_t kind;
    if (strcmp(type, "i64") == 0) {
        kind = SHM_I64;
    } else if (strcmp(type, "f64") == 0) {
        kind = SHM_F64;
    } else if (strcmp(type, "bool") == 0) {
        kind = SHM_BOOL;
    } else {
        fprintf(stderr, "scalar_reader: the type is i64, f64 or bool, not %s\n", type);
        return 2;
    }

    shm_schema *schema = NULL;
    shm_subscriber *sub = NULL;
    shm_status s = shm_schema_primitive(kind, &schema);
    if (s != SHM_OK) return fail("schema", s);
    s = shm_subscriber_new(argv[1], schema, NULL, &sub);
    if (s != SHM_OK) {
        shm_schema_drop(schema);
        return fail(argv[1], s);
    }
    printf("reading %s values of '%s'\n", type, argv[1]);
    fflush(stdout);

    int code = 0;
    for (long n = 0; count == 0 || n < count;) {
        union {
            int64_t i;
            double f;
            bool b;
        } value;
        shm_sample_info info;
        s = shm_subscriber_recv_timeout(sub, &value, shm_schema_size(schema), 30000000000ull, &info);
        if (s == SHM_PUBLISHER_GONE) continue; /* a new publisher takes the topic over */
        if (s == SHM_TIMEOUT) {
            fprintf(stderr, "scalar_reader: no value for 30 s\n");
            code = 3;
            break;
        }
        if (s != SHM_OK) {
            code = fail("recv", s);
            break;
        }
        if (kind == SHM_I64) {
            printf("#%" PRIu64 ": %" PRId64 "\n", info.seq, value.i);
        } else if (kind == SHM_F64) {
            printf("#%" PRIu64 ": %g\n", info.seq, value.f);
        } else {
            printf("#%" PRIu64 ": %s\n", info.seq, value.b ? "true" : "false");
        }
        fflush(stdout);
        n++;
    }
    shm_subscriber_drop(sub);
    shm_schema_drop(schema);
    return code;
}
