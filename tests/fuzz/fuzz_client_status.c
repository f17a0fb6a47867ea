/*
 * libFuzzer target for client_status_add (the MiscData strings of a Windows computer's status
 * event, "U=id;id;..."): any input must be taken or ignored cleanly, never crash, leak or
 * overrun, and what it keeps must keep the module's promises (bounded, GUIDs, one entry per
 * update after client_status_finish). Seeds: the status strings of the native-flow capture.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client_event.h"
#include "strutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct client_status st;
    char *s = malloc(size + 1);
    size_t i;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    client_status_init(&st);
    /* the same string twice: duplicates must fold */
    if (client_status_add(&st, s) != client_status_add(&st, s))
        __builtin_trap();
    client_status_finish(&st);
    if (st.n > CLIENT_STATUS_MAX_IDS)
        __builtin_trap();
    for (i = 0; i < st.n; i++) {
        unsigned char g[16];

        if (str_guid_parse(st.e[i].update_id, strlen(st.e[i].update_id), g) < 0 ||
            client_state_name(st.e[i].state) == NULL ||
            (i > 0 && strcmp(st.e[i - 1].update_id, st.e[i].update_id) >= 0))
            __builtin_trap();
    }
    client_status_free(&st);
    free(s);
    return 0;
}
