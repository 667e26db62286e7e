// The MPI handles Swift cannot import: Open MPI defines MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...
// as macros over the addresses of global objects, which the Clang importer skips. These inline
// functions return them; the rest of mpi.h (functions, MPI_SUCCESS, ...) imports as it is.
#ifndef MMOE_CMPI_SHIM_H
#define MMOE_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm mmoe_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype mmoe_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype mmoe_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype mmoe_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype mmoe_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype mmoe_mpi_long_long(void) { return MPI_LONG_LONG; }
static inline MPI_Op mmoe_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op mmoe_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op mmoe_mpi_min(void) { return MPI_MIN; }
static inline void *mmoe_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler mmoe_mpi_errors_are_fatal(void) { return MPI_ERRORS_ARE_FATAL; }
static inline int mmoe_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }

#endif
