package mlxanomaly

func defaultConfig() *Config { return createDefaultConfig().(*Config) }
