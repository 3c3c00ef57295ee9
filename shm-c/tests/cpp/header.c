/* <shm/shm.h> compiles as C11 with every warning an error (-std=c11 -Wall -Wextra -Werror
 * -pedantic), and links: the status names come from the library. */
#include <shm/shm.h>

#include <stdio.h>
#include <string.h>

int main(void) {
    if (strcmp(shm_status_name(SHM_ERR_SCHEMA_MISMATCH), "SHM_ERR_SCHEMA_MISMATCH") != 0) {
        fprintf(stderr, "unexpected status name\n");
        return 1;
    }
    return 0;
}
