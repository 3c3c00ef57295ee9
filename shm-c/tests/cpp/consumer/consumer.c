/* Built with `cc consumer.c $(pkg-config --cflags --libs shm)`: prints "pkg-config ok". */
#include <shm/shm.h>

#include <stdio.h>
#include <string.h>

int main(void) {
    shm_schema *f64 = NULL;
    if (shm_schema_primitive(SHM_F64, &f64) != SHM_OK || shm_schema_size(f64) != 8) return 1;
    shm_schema_drop(f64);
    printf("pkg-config ok\n");
    return strcmp(shm_status_name(SHM_OK), "SHM_OK") != 0;
}
