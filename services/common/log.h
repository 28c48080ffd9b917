/*
 * log: leveled, line-oriented logs on stderr with a timestamp and the service name.
 *
 * Messages follow the project's style: lower-case first word, no trailing period, subject
 * quoted. Format strings are checked by the compiler. Thread-safe (one write(2) per line).
 */
#ifndef NNS_LOG_H
#define NNS_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

void log_init(const char *service, log_level_t min_level);
void log_write(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
