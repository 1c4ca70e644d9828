DROP TABLE board_entries;
