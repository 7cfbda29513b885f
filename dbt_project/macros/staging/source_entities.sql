{#- source_entities() -> [(system, entity)] of the 16 exports that have staging models. -#}
{% macro source_entities() -%}
    {{ return([
        ('erp', 'products'), ('erp', 'suppliers'), ('erp', 'materials'),
        ('erp', 'purchase_receipts'), ('erp', 'work_orders'), ('erp', 'shipments'),
        ('mes', 'production_batches'), ('mes', 'equipment'), ('mes', 'material_consumption'),
        ('mes', 'process_readings'), ('mes', 'serials'), ('mes', 'process_specs'),
        ('qms', 'inspections'), ('qms', 'measurements'), ('qms', 'capa'),
        ('crm', 'complaints'),
    ]) }}
{%- endmacro %}
