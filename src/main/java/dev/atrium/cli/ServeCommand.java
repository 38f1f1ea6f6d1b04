package dev.atrium.cli;

import dev.atrium.Atrium;
import dev.atrium.config.ServerConfig;
import dev.atrium.config.ServerConfigLoader;
import dev.atrium.config.ServerSetting;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code atrium serve}: runs the server until SIGTERM or SIGINT, then drains. */
@Command(name = "serve",
        mixinStandardHelpOptions = true,
        description = {"Start the server.",
                "Each setting comes from its flag, else its environment variable, else the config file, else the default."})
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--" + ServerConfigLoader.CONFIG_FLAG, paramLabel = "FILE",
            description = "properties file with settings by flag name, e.g. port=9000 (env ATRIUM_CONFIG)")
    String configFile;

    @Override
    public Integer call() throws InterruptedException {
        Map<String, String> flags = new HashMap<>();
        for (ServerSetting setting : ServerSetting.values()) {
            String value = spec.findOption("--" + setting.key()).getValue();
            if (value != null) {
                flags.put(setting.key(), value);
            }
        }
        if (configFile != null) {
            flags.put(ServerConfigLoader.CONFIG_FLAG, configFile);
        }
        ServerConfig config;
        try {
            config = ServerConfigLoader.load(flags, System.getenv());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Atrium atrium;
        try {
            atrium = Atrium.start(config);
        } catch (RuntimeException e) {
            spec.commandLine().getErr().println("atrium: cannot start: " + e.getMessage());
            return 2;
        }
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("atrium-shutdown").unstarted(atrium::close));
        atrium.awaitStop();
        return 0;
    }
}
