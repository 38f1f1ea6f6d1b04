package dev.atrium.cli;

import dev.atrium.Atrium;
import dev.atrium.config.ServerSetting;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.OptionSpec;

/** The {@code atrium} command: {@code serve} runs the server; the other commands talk to a running one. */
@Command(name = "atrium",
        mixinStandardHelpOptions = true,
        version = "Atrium " + Atrium.VERSION,
        description = "Self-hosted AI models over OpenAI /v1 and Open Inference Protocol v2.",
        subcommands = {ServeCommand.class, ModelsCommand.class, UpstreamsCommand.class, PublishersCommand.class,
                TenantsCommand.class,
                KeysCommand.class,
                MeteringCommands.Prices.class, MeteringCommands.Usage.class, MeteringCommands.Invoice.class,
                TaskCommands.Transcribe.class, TaskCommands.Classify.class, TaskCommands.Predict.class,
                TrainingCommands.Files.class, TrainingCommands.Train.class, TrainingCommands.Jobs.class,
                TrainingCommands.Evaluate.class, RolloutCommand.class, BundleCommand.class, RunCommand.class,
                AotTrainCommand.class,
                StoreCommand.class, CommandLine.HelpCommand.class})
public final class AtriumCommand implements Runnable {

    /** The command line, with one {@code serve} flag per {@link ServerSetting}. */
    public static CommandLine commandLine() {
        return commandLine(System.getenv());
    }

    /**
     * The command line over a given environment, where {@code store migrate} reads the store's password (so that
     * a test can give one without setting the process's environment).
     */
    public static CommandLine commandLine(Map<String, String> environment) {
        CommandLine.IFactory defaults = CommandLine.defaultFactory();
        CommandLine.IFactory factory = new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> type) throws Exception {
                return type == StoreCommand.Migrate.class ? type.cast(new StoreCommand.Migrate(environment))
                        : defaults.create(type);
            }
        };
        CommandLine commandLine = new CommandLine(new AtriumCommand(), factory);
        CommandLine serve = commandLine.getSubcommands().get("serve");
        for (ServerSetting setting : ServerSetting.values()) {
            serve.getCommandSpec().addOption(OptionSpec.builder("--" + setting.key())
                    .paramLabel(setting.key().toUpperCase(java.util.Locale.ROOT).replace('-', '_'))
                    .type(String.class)
                    .description(setting.description() + " (env " + setting.environmentVariable()
                            + ", default " + setting.defaultValue() + ")")
                    .build());
        }
        return commandLine;
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }
}
