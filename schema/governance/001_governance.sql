create schema if not exists governance;
