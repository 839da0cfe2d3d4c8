{#- A list of strings from a var as a SQL list for `in`: ('a', 'b'); an empty list is (null),
    which matches nothing. Quotes inside a value are doubled. -#}
{% macro sql_list(values) -%}
    {%- if values | length == 0 -%}
        (null)
    {%- else -%}
        ({%- for value in values -%}
            '{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}
        {%- endfor -%})
    {%- endif -%}
{%- endmacro %}
