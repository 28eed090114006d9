// The DCC signing tool's Validate, run on many documents in one JVM: starting the JVM is most of what
// one `java -cp tool.jar uk.co.smartdcc.boxed.xmldsig.Validate FILE [CERT]` costs (adapters/dcc_tools).
//
// Run as a single-file source program with the tool on the class path:
//     java -cp tool.jar ValidateMany.java < list
// Each line of the list is "<message file>\t<certificate file, or nothing>". For each, in order, this
// calls the tool's own entry point, Validate.main_aux(new String[]{file[, certificate]}), with its
// standard output and error captured, and prints one line
//     RESULT\t<line number, from 0>\t<the exit code Validate would have ended with>\t<base64 of its stderr>
// and flushes. Nothing of the tool is changed or copied: where the tool ends the JVM itself (it calls
// System.exit on a document it cannot parse), the caller sees the JVM's exit code in place of the
// missing RESULT line and starts a new batch after that document.
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

public final class ValidateMany {
  public static void main(final String[] args) throws Exception {
    final PrintStream out = System.out;
    final PrintStream err = System.err;
    final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    int n = 0;
    while ((line = in.readLine()) != null) {
      if (line.isEmpty()) {
        continue;
      }
      final String[] parts = line.split("\t", -1);
      final String[] call = parts.length > 1 && !parts[1].isEmpty()
          ? new String[] {parts[0], parts[1]} : new String[] {parts[0]};
      final ByteArrayOutputStream said = new ByteArrayOutputStream();
      final PrintStream capture = new PrintStream(said, true, StandardCharsets.UTF_8);
      int code;
      System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      System.setErr(capture);
      try {
        code = uk.co.smartdcc.boxed.xmldsig.Validate.main_aux(call).value();
      } catch (Throwable t) {
        capture.println("[E] ValidateMany: " + t);
        code = 2;
      } finally {
        System.setOut(out);
        System.setErr(err);
      }
      out.println("RESULT\t" + n + "\t" + code + "\t" + Base64.getEncoder().encodeToString(said.toByteArray()));
      out.flush();
      n++;
    }
  }
}
