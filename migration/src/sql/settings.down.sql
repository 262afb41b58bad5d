DROP TABLE IF EXISTS system_settings;
