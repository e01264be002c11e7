package io.paystream.flink.udf;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;

import org.apache.flink.shaded.com.jayway.jsonpath.spi.json.JacksonJsonProvider;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectReader;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.api.JsonQueryOnEmptyOrError;
import org.apache.flink.table.api.JsonQueryWrapper;
import org.apache.flink.table.api.JsonValueOnEmptyOrError;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.table.runtime.functions.SqlJsonUtils;
import org.apache.flink.types.Row;

/**
 * {@code JSON_MEMBERS(json, path1, path2, ...)}: the message parsed once, and per path what
 * Flink's own functions give on it.
 *
 * <p>The result is {@code ROW<is_object, members, scalars>}:
 *
 * <ul>
 *   <li>{@code is_object}: is {@code json} one JSON object with nothing after it but
 *       whitespace, exactly {@code COALESCE(json IS JSON OBJECT AND ('[' || json || ']') IS
 *       JSON ARRAY AND ('{"k":' || json || '}') IS JSON OBJECT, FALSE)};
 *   <li>{@code members[i]}: exactly {@code COALESCE(JSON_VALUE(json, path_i), JSON_QUERY(json,
 *       path_i))}: a scalar's text, a container's JSON text, NULL when missing, JSON null or
 *       not JSON;
 *   <li>{@code scalars[i]}: TRUE when {@code members[i]} is {@code JSON_VALUE}'s (so {@code
 *       JSON_QUERY(json, path_i)} is NULL), FALSE when it is {@code JSON_QUERY}'s, NULL when
 *       both are NULL.
 * </ul>
 *
 * <p>Parity by construction: the text is parsed by the JSON provider {@code JSON_VALUE} and
 * {@code JSON_QUERY} parse it with (SqlJsonUtils' Jayway provider over Flink's shaded
 * Jackson, with its read constraints), and each path is evaluated by SqlJsonUtils' own
 * (private) path, value and query steps on that one parsed document, with the functions'
 * default behaviours (strict paths unless the path says {@code lax}, NULL ON EMPTY, NULL ON
 * ERROR, WITHOUT ARRAY WRAPPER); scalars become text with {@code String.valueOf}, as the
 * planner's code for JSON_VALUE ... RETURNING STRING does.
 *
 * <p>Non-deterministic on purpose: the planner then never inlines the call into each
 * expression that reads one of its fields (FLINK-18548), so a message is parsed once
 * however many columns use it.
 */
public final class JsonMembers extends ScalarFunction {

    private static final long serialVersionUID = 1L;

    private static final JacksonJsonProvider PROVIDER;
    private static final ObjectReader READER;
    private static final int MAX_NESTING_DEPTH;
    private static final MethodHandle VALUE_CONTEXT;
    private static final MethodHandle PATH_CONTEXT;
    private static final MethodHandle JSON_VALUE;
    private static final MethodHandle JSON_QUERY;

    static {
        try {
            Field provider = SqlJsonUtils.class.getDeclaredField("JSON_PATH_JSON_PROVIDER");
            provider.setAccessible(true);
            PROVIDER = (JacksonJsonProvider) provider.get(null);
            // What JacksonJsonProvider.parse(String) reads with (objectReader.readValue(json)).
            Field reader = JacksonJsonProvider.class.getDeclaredField("objectReader");
            reader.setAccessible(true);
            READER = (ObjectReader) reader.get(PROVIDER);
            MAX_NESTING_DEPTH =
                    READER.getFactory().streamReadConstraints().getMaxNestingDepth();

            Class<?> valueContext = inner("JsonValueContext");
            Class<?> pathContext = inner("JsonPathContext");
            VALUE_CONTEXT = handle(valueContext, "withJavaObj", Object.class);
            PATH_CONTEXT =
                    handle(SqlJsonUtils.class, "jsonApiCommonSyntax", valueContext, String.class);
            JSON_VALUE =
                    handle(
                            SqlJsonUtils.class,
                            "jsonValue",
                            pathContext,
                            JsonValueOnEmptyOrError.class,
                            Object.class,
                            JsonValueOnEmptyOrError.class,
                            Object.class);
            JSON_QUERY =
                    handle(
                            SqlJsonUtils.class,
                            "jsonQuery",
                            pathContext,
                            SqlJsonUtils.JsonQueryReturnType.class,
                            JsonQueryWrapper.class,
                            JsonQueryOnEmptyOrError.class,
                            JsonQueryOnEmptyOrError.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(
                    "Flink's SqlJsonUtils is not the one this function was built for: " + e);
        }
    }

    private static Class<?> inner(String name) throws ClassNotFoundException {
        return Class.forName(SqlJsonUtils.class.getName() + "$" + name);
    }

    private static MethodHandle handle(Class<?> owner, String name, Class<?>... parameters)
            throws ReflectiveOperationException {
        Method method = owner.getDeclaredMethod(name, parameters);
        method.setAccessible(true);
        return MethodHandles.lookup().unreflect(method);
    }

    @DataTypeHint("ROW<is_object BOOLEAN NOT NULL, members ARRAY<STRING>, scalars ARRAY<BOOLEAN>>")
    public Row eval(String json, String... paths) {
        String[] members = new String[paths.length];
        Boolean[] scalars = new Boolean[paths.length];
        if (json == null) {
            return Row.of(false, members, scalars);
        }
        Object document;
        int end;
        try (JsonParser parser = READER.createParser(json)) {
            document = READER.readValue(parser);
            end = (int) parser.currentLocation().getCharOffset();
        } catch (Exception e) {
            // Not JSON: IS JSON is false, and JSON_VALUE / JSON_QUERY are NULL (ON ERROR).
            return Row.of(false, members, scalars);
        }
        try {
            Object context = VALUE_CONTEXT.invoke(document);
            for (int i = 0; i < paths.length; i++) {
                Object path = PATH_CONTEXT.invoke(context, paths[i]);
                Object value =
                        JSON_VALUE.invoke(
                                path,
                                JsonValueOnEmptyOrError.NULL,
                                null,
                                JsonValueOnEmptyOrError.NULL,
                                null);
                if (value != null) {
                    members[i] = String.valueOf(value);
                    scalars[i] = true;
                    continue;
                }
                members[i] =
                        (String)
                                JSON_QUERY.invoke(
                                        path,
                                        SqlJsonUtils.JsonQueryReturnType.STRING,
                                        JsonQueryWrapper.WITHOUT_ARRAY,
                                        JsonQueryOnEmptyOrError.NULL,
                                        JsonQueryOnEmptyOrError.NULL);
                scalars[i] = members[i] == null ? null : false;
            }
        } catch (Throwable e) {
            throw new IllegalStateException("JSON_MEMBERS failed on its paths", e);
        }
        return Row.of(isObject(json, document, end), members, scalars);
    }

    /**
     * The validation rules' "one JSON object": IS JSON OBJECT, and also when wrapped in an
     * array and as a member's value (Jackson ignores what follows the first value).
     *
     * <p>Answered from the one parse when the text is plainly one object: it starts with
     * '{' after Jackson's whitespace, only Jackson's whitespace follows it, and it nests less
     * deeply than the read constraints allow (the wrapped forms nest one level deeper). Any
     * other object (trailing text, a byte-order mark, nesting at the limit) is rare and takes
     * the wrapped checks themselves, through the functions IS JSON calls.
     */
    private static boolean isObject(String json, Object document, int end) {
        if (!(document instanceof Map)) {
            return false;
        }
        int start = 0;
        while (start < json.length() && isJsonWhitespace(json.charAt(start))) {
            start++;
        }
        boolean plain =
                start < json.length()
                        && json.charAt(start) == '{'
                        && end > start
                        && onlyWhitespaceFrom(json, end)
                        && depthAtMost(document, MAX_NESTING_DEPTH - 1);
        if (plain) {
            return true;
        }
        return SqlJsonUtils.isJsonArray("[" + json + "]")
                && SqlJsonUtils.isJsonObject("{\"k\":" + json + "}");
    }

    private static boolean isJsonWhitespace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }

    private static boolean onlyWhitespaceFrom(String json, int from) {
        for (int i = from; i < json.length(); i++) {
            if (!isJsonWhitespace(json.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** Is the document's nesting (the root container is 1) at most {@code limit}? */
    private static boolean depthAtMost(Object node, int limit) {
        if (limit <= 0) {
            return !(node instanceof Map || node instanceof List);
        }
        if (node instanceof Map) {
            for (Object child : ((Map<?, ?>) node).values()) {
                if (!depthAtMost(child, limit - 1)) {
                    return false;
                }
            }
        } else if (node instanceof List) {
            for (Object child : (List<?>) node) {
                if (!depthAtMost(child, limit - 1)) {
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public boolean isDeterministic() {
        return false;
    }
}
